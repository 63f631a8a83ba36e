"""Finding a normalised word span inside the raw text it came from, to highlight it."""

import regex
from rich.text import Text


def span_pattern(span: str) -> regex.Pattern | None:
    """A pattern matching the words of `span` in raw text, whatever lies between them."""
    words = span.split()
    if not words:
        return None
    body = r"[^\p{L}\p{N}\p{M}]+".join(regex.escape(word) for word in words)
    return regex.compile(rf"(?<![\p{{L}}\p{{N}}]){body}(?![\p{{L}}\p{{N}}])", regex.IGNORECASE)


def highlighted(text: str, span: str | None, limit: int = 400, style: str = "bold yellow") -> Text:
    """`text` (shortened to about `limit` characters around the match) with `span` styled."""
    pattern = span_pattern(span) if span else None
    found = pattern.search(text) if pattern else None
    start = 0
    if found and len(text) > limit:
        start = max(0, min(found.start() - limit // 4, len(text) - limit))
    shown = text[start : start + limit]
    result = Text(("…" if start else "") + shown + ("…" if start + limit < len(text) else ""))
    if found:
        offset = (1 if start else 0) - start
        result.stylize(style, found.start() + offset, min(found.end() + offset, len(result)))
    return result
