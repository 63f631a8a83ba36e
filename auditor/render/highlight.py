"""Finding a normalised word span inside the (trimmed) raw text a report carries, to mark it."""

from auditor.excerpt import span_pattern


def split_on_span(text: str, span: str | None) -> tuple[str, str, str]:
    """(before, matched, after): `text` split around the first occurrence of `span`'s words;
    the whole text is `before` when the span is absent or not found."""
    pattern = span_pattern(span) if span else None
    found = pattern.search(text) if pattern else None
    if found is None:
        return text, "", ""
    return text[: found.start()], found.group(0), text[found.end() :]
