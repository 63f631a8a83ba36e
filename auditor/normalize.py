"""Text normalisation and word tokenisation shared by every text probe.

One definition, so that `exact`, `ngram` and `minhash` agree on what "the same words" means:

1. Unicode NFKC (compatibility forms fold: full-width digits, ligatures, non-breaking spaces);
2. case folding (`str.casefold`, stronger than `lower`: "ß" matches "ss"), then NFKC again,
   because case folding can produce sequences that NFKC would compose;
3. every run of characters that is not a letter, number or combining mark (punctuation,
   symbols, whitespace, control characters, "_") becomes one space; leading and trailing
   space is dropped.

Words are the space-separated pieces of the normalised text. The function is idempotent and
invariant to case, whitespace and punctuation changes (property-tested). Pure-ASCII text takes a
byte-table fast path that gives the same result as the general path (also tested).
"""

import unicodedata

import regex

_NON_WORD = regex.compile(r"[^\p{L}\p{N}\p{M}]+")
_NON_WORD_KEEP_SEPARATOR = regex.compile(r"[^\p{L}\p{N}\p{M}\x00]+")


def _ascii_table() -> bytes:
    table = bytearray(b" " * 256)
    for byte in range(256):
        char = chr(byte)
        if byte >= 0x80:
            table[byte] = byte  # never reached for ASCII input; keeps UTF-8 bytes intact
        elif char.isalnum():
            table[byte] = ord(char.lower())
    return bytes(table)


ASCII_FOLD_TABLE = _ascii_table()
"""Byte table for ASCII text: letters lower-cased, digits kept, every other byte a space."""


def normalize(text: str) -> str:
    """Normalise `text` as the module docstring describes."""
    if text.isascii():
        return " ".join(text.encode("ascii").translate(ASCII_FOLD_TABLE).decode("ascii").split())
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return _NON_WORD.sub(" ", folded).strip()


def tokenize(text: str) -> list[str]:
    """The words of `text` after normalisation."""
    return normalize(text).split()


_DOC_SEPARATOR = "\x00"
_BATCH_TABLE = bytearray(ASCII_FOLD_TABLE)
_BATCH_TABLE[0] = ord("\n")
_BATCH_TABLE = bytes(_BATCH_TABLE)


def normalize_batch(texts: list[str]) -> bytes:
    """Normalised documents as one UTF-8 buffer, documents separated by "\\n".

    Within a document, words are separated by runs of spaces (the hashing engine treats a run as
    one separator). This is the hot path of a corpus scan, so it works on the whole batch at
    once: the non-ASCII documents go through the Unicode path together (NFKC and case folding
    never combine across the NUL separator), then one byte-table translation folds everything.
    """
    texts = [
        text.replace(_DOC_SEPARATOR, " ") if _DOC_SEPARATOR in text else text for text in texts
    ]
    non_ascii = [i for i, text in enumerate(texts) if not text.isascii()]
    if non_ascii:
        joined = _DOC_SEPARATOR.join(texts[i] for i in non_ascii)
        folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", joined).casefold())
        pieces = _NON_WORD_KEEP_SEPARATOR.sub(" ", folded).split(_DOC_SEPARATOR)
        texts = list(texts)
        for i, piece in zip(non_ascii, pieces, strict=True):
            texts[i] = piece
    return _DOC_SEPARATOR.join(texts).encode("utf-8").translate(_BATCH_TABLE)
