"""Dataset text as reports carry it: trimmed around the words that matched.

A report keeps the evidence a reader needs (the flagged benchmark item, the training text it
matched) without the corpora, so it can be re-rendered anywhere; texts are cut to a window around
the matched span, which is found in the raw text by its normalised words.
"""

import regex

from auditor.report import EXCERPT_CHARS


def span_pattern(span: str) -> regex.Pattern | None:
    """A pattern matching the words of `span` in raw text, whatever lies between them."""
    words = span.split()
    if not words:
        return None
    body = r"[^\p{L}\p{N}\p{M}]+".join(regex.escape(word) for word in words)
    return regex.compile(rf"(?<![\p{{L}}\p{{N}}]){body}(?![\p{{L}}\p{{N}}])", regex.IGNORECASE)


def excerpt(text: str, span: str | None = None, limit: int = EXCERPT_CHARS) -> str:
    """`text` cut to about `limit` characters, the window placed so the span's start shows;
    an ellipsis marks each cut."""
    if len(text) <= limit:
        return text
    pattern = span_pattern(span) if span else None
    found = pattern.search(text) if pattern else None
    start = max(0, min(found.start() - limit // 4, len(text) - limit)) if found else 0
    end = start + limit
    return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")
