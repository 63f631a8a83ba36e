"""Text normalisation and word tokenisation shared by every text probe.

One definition, so that `exact`, `ngram` and `minhash` agree on what "the same words" means:

1. Unicode NFKC (compatibility forms fold: full-width digits, ligatures, non-breaking spaces);
2. case folding (`str.casefold`, stronger than `lower`: "ß" matches "ss"), then NFKC again,
   because case folding can produce sequences that NFKC would compose;
3. every run of characters that is not a letter, number or combining mark (punctuation,
   symbols, whitespace, control characters, "_"; categories from `unicodedata`) becomes one
   space; leading and trailing space is dropped.

Words are the space-separated pieces of the normalised text. The function is idempotent and
invariant to case, whitespace and punctuation changes (property-tested). Pure-ASCII text takes a
byte-table fast path that gives the same result as the general path (also tested).
"""

import unicodedata


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
    return " ".join(_fold(text, keep_ascii=False).split())


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
    once: the non-ASCII documents go through NFKC and case folding together (neither combines
    across the NUL separator), the few distinct non-ASCII characters that are not letters,
    numbers or marks are replaced by spaces one `str.replace` each (a regex over the text is
    several times slower), and one byte-table translation folds the ASCII bytes of everything.
    """
    texts = [
        text.replace(_DOC_SEPARATOR, " ") if _DOC_SEPARATOR in text else text for text in texts
    ]
    non_ascii = [i for i, text in enumerate(texts) if not text.isascii()]
    if non_ascii:
        folded = _fold(_DOC_SEPARATOR.join(texts[i] for i in non_ascii), keep_ascii=True)
        texts = list(texts)
        for i, piece in zip(non_ascii, folded.split(_DOC_SEPARATOR), strict=True):
            texts[i] = piece
    return _DOC_SEPARATOR.join(texts).encode("utf-8").translate(_BATCH_TABLE)


def _fold(text: str, keep_ascii: bool) -> str:
    """NFKC, case folding, NFKC; then every character that is not a letter, number or mark
    (by `unicodedata`, the one Unicode table both paths use) becomes a space, optionally leaving
    ASCII characters for the byte table. One `str.replace` per distinct such character."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    for char in set(folded):
        if not (keep_ascii and char.isascii()) and unicodedata.category(char)[0] not in "LNM":
            folded = folded.replace(char, " ")
    return folded
