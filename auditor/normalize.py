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
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


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


_DOC_SEPARATOR = b"\xff"
"""Between documents in a batch: a byte UTF-8 never holds, so no text can contain it."""
_BATCH_TABLE = bytearray(ASCII_FOLD_TABLE)
_BATCH_TABLE[_DOC_SEPARATOR[0]] = ord("\n")
_BATCH_TABLE = bytes(_BATCH_TABLE)
_SEGMENT_GAP = 32
"""Non-ASCII bytes closer than this (in one document) are folded as one segment, so text that is
mostly non-ASCII (Cyrillic, say) is spliced a few segments per document, not a word at a time."""

Texts = Sequence[str] | pa.Array | pa.ChunkedArray
"""A batch of documents: Python strings, or an Arrow string column (read without conversion)."""


def normalize_batch(texts: Texts) -> bytes:
    """Normalised documents as one UTF-8 buffer, documents separated by "\\n".

    Within a document, words are separated by runs of spaces (the hashing engine treats a run as
    one separator). This is the hot path of a corpus scan, so it works on the UTF-8 bytes of the
    whole batch (an Arrow column joined by Arrow) and decodes only where the text is not ASCII:
    the bytes around each cluster of non-ASCII characters go through `_fold` together (one call
    per batch), and one byte-table translation folds the ASCII bytes of everything.

    Folding a segment alone gives what folding its document would: segments start before an
    ASCII character or at the document's start, and neither NFKC nor case folding combines a
    character with anything before an ASCII character (it is a starter that composes with
    nothing before it; the ASCII character itself stays in the segment, so a combining mark after
    it still composes with it). Property-tested against `normalize` on text built to break this.
    """
    return normalized_documents(texts)[0]


def normalized_documents(texts: Texts) -> tuple[bytes, np.ndarray]:
    """`normalize_batch(texts)`, and the offset where each document starts in it: known from the
    join, so the hashing engine need not search the buffer for the separators."""
    data, doc_starts = _joined(texts)
    buffer = np.frombuffer(data, dtype=np.int8)
    high = np.flatnonzero(buffer < -1)  # UTF-8 bytes of non-ASCII characters (not 0xFF)
    if len(high):
        data, doc_starts = _fold_segments(data, high, doc_starts)
    return data.translate(_BATCH_TABLE), doc_starts


def _joined(texts: Texts) -> tuple[bytes, np.ndarray]:
    """The documents' UTF-8 bytes, `_DOC_SEPARATOR` between them, and where each starts. An
    Arrow column is joined by Arrow; Python strings are encoded here (`pa.array` would import
    pandas, a third of a second, to check whether they are a pandas object)."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.chunk(0) if texts.num_chunks == 1 else texts.combine_chunks()
    if isinstance(texts, pa.Array):
        data, lengths = _arrow_joined(texts)
    else:
        encoded = [text.encode("utf-8") for text in texts]
        data = _DOC_SEPARATOR.join(encoded)
        lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    return data, np.concatenate(([0], np.cumsum(lengths[:-1] + 1))).astype(np.int64)


def _arrow_joined(column: pa.Array) -> tuple[bytes, np.ndarray]:
    """`_joined` of a string column, and the documents' lengths in bytes. The column is viewed
    as binary (the separator is not UTF-8) with the same offset width, so nothing is converted
    before the join's one copy."""
    if pa.types.is_large_string(column.type) or pa.types.is_large_binary(column.type):
        binary, lists, offset = pa.large_binary(), pa.LargeListArray, np.int64
    else:
        binary, lists, offset = pa.binary(), pa.ListArray, np.int32
    values = column.view(binary)
    whole = lists.from_arrays(np.array([0, len(values)], dtype=offset), values)
    data = pc.binary_join(whole, pa.scalar(_DOC_SEPARATOR, binary))[0].as_py()
    return data, pc.binary_length(values).to_numpy()


def _fold_segments(
    data: bytes, high: np.ndarray, doc_starts: np.ndarray
) -> tuple[bytes, np.ndarray]:
    """`data` with each segment around its non-ASCII bytes `high` replaced by its `_fold`, and
    the documents' starts moved by the change in length of the segments before them."""
    doc = np.searchsorted(doc_starts, high, side="right") - 1
    first = np.flatnonzero(
        np.concatenate(([True], (np.diff(high) > _SEGMENT_GAP) | (doc[1:] != doc[:-1])))
    )
    starts = np.maximum(high[first] - 1, doc_starts[doc[first]]).tolist()
    ends = (np.append(high[first[1:] - 1], high[-1]) + 1).tolist()
    kept = zip([0, *ends], [*starts, len(data)], strict=True)
    folded = _folded_pieces([data[a:b] for a, b in zip(starts, ends, strict=True)])
    parts: list[bytes] = [b""] * (2 * len(starts) + 1)
    parts[0::2] = [data[end:start] for end, start in kept]
    parts[1::2] = folded
    growth = np.fromiter(map(len, folded), np.int64, len(folded)) - np.subtract(ends, starts)
    moved = np.concatenate(([0], np.cumsum(growth)))[np.searchsorted(ends, doc_starts, "right")]
    return b"".join(parts), doc_starts + moved


_FOLDED: dict[bytes, bytes] = {}
"""Pieces folded before (cleared past `_FOLDED_MAX`): most non-ASCII text in a corpus is a few
characters (quotes, dashes, symbols, accented letters) after the same few ASCII characters."""
_FOLDED_MAX = 1 << 16


def _folded_pieces(pieces: list[bytes]) -> list[bytes]:
    """`_fold_pieces` of `pieces`, the ones folded before from `_FOLDED`. The answer is built from
    what this call read and folded, not read back from the cache, which another worker thread
    may clear meanwhile."""
    folds = {piece: _FOLDED.get(piece, b"") for piece in set(pieces)}  # a fold is never empty
    new = [piece for piece, fold in folds.items() if not fold]
    if new:
        if len(_FOLDED) > _FOLDED_MAX:
            _FOLDED.clear()
        fresh = dict(zip(new, _fold_pieces(new), strict=True))
        _FOLDED.update(fresh)
        folds.update(fresh)
    return [folds[piece] for piece in pieces]


def _fold_pieces(pieces: list[bytes]) -> list[bytes]:
    """`_fold` of each UTF-8 piece (ASCII kept for the byte table), in one call joined by NUL:
    a NUL in a piece is a space first (both fold to a space and never compose)."""
    joined = b"\x00".join(pieces)
    if joined.count(b"\x00") != len(pieces) - 1:
        joined = b"\x00".join(piece.replace(b"\x00", b" ") for piece in pieces)
    return _fold(joined.decode("utf-8"), keep_ascii=True).encode("utf-8").split(b"\x00")


def _fold(text: str, keep_ascii: bool) -> str:
    """NFKC, case folding, NFKC; then every character that is not a letter, number or mark
    (by `unicodedata`, the one Unicode table both paths use) becomes a space, optionally leaving
    ASCII characters for the byte table. One `str.replace` per distinct such character."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    for char in set(folded):
        if not (keep_ascii and char.isascii()) and unicodedata.category(char)[0] not in "LNM":
            folded = folded.replace(char, " ")
    return folded
