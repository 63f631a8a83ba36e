"""Turning file bytes into text: strict UTF-8 unless told otherwise, never a silent guess.

A wrong encoding silently changes the words the probes compare, so undecodable bytes are an
error naming the file, byte offset and line, unless the user passes `--encoding NAME` or
`--encoding auto` (detection with charset-normalizer, and the chosen encoding is reported).
"""

import codecs
from pathlib import Path

from charset_normalizer import from_bytes

from auditor.errors import InputError

AUTO = "auto"
_GZIP_MAGIC = b"\x1f\x8b"


def check_not_compressed(path: Path, data: bytes) -> None:
    if data.startswith(_GZIP_MAGIC):
        raise InputError(
            f"{path}: the file is gzip-compressed but its name does not end in .gz. "
            f"Rename it to {path.name}.gz (the loader decompresses .gz files) or decompress it."
        )


def decode(data: bytes, path: Path, encoding: str | None) -> tuple[str, str]:
    """Decode `data`; returns the text and the encoding used."""
    if encoding and encoding.lower() != AUTO:
        try:
            codecs.lookup(encoding)
        except LookupError as error:
            raise InputError(
                f"Unknown encoding {encoding!r} for {path}. Use a Python codec name such as "
                "utf-8, latin-1, cp1252, or `auto` to detect it."
            ) from error
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as error:
            start = _file_offset(data, error, encoding)
            raise InputError(_decode_message(data, path, start, encoding)) from error
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as error:
        if encoding is None:
            start = _file_offset(data, error, "utf-8-sig")
            raise InputError(_decode_message(data, path, start, "utf-8")) from error
    encoding = detect_encoding(data)
    return data.decode(encoding), encoding


_MULTIBYTE = ("utf_16", "utf_32", "big5", "gb2312", "gb18030", "gbk", "cp932", "shift_jis",
              "euc_jp", "euc_kr", "cp949", "johab", "hz", "iso2022_jp")  # fmt: skip


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf_32"), (codecs.BOM_UTF32_BE, "utf_32"),
    (codecs.BOM_UTF16_LE, "utf_16"), (codecs.BOM_UTF16_BE, "utf_16"),
)  # fmt: skip


def detect_encoding(data: bytes) -> str:
    """The encoding of non-UTF-8 bytes: a confident multi-byte guess, else Windows-1252.

    charset-normalizer is reliable when it finds a multi-byte encoding (UTF-16, CJK code pages)
    with coherent language, but among single-byte code pages it guesses almost at random on
    mostly-ASCII files (big5 for TREC's Latin-1, cp1250 or cp775 for French). Nearly all such
    files in ML data are Latin-1 or Windows-1252, which agree on every printable Latin-1
    character, so single-byte text is decoded as cp1252, or Latin-1 where cp1252 has no
    character for a byte.
    """
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    best = from_bytes(data).best()
    if best is not None and best.encoding in _MULTIBYTE and best.coherence >= 0.2:
        return best.encoding
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return "latin_1"
    return "cp1252"


def _file_offset(data: bytes, error: UnicodeDecodeError, codec: str) -> int:
    """The bad byte's offset in the file: utf-8-sig counts from after the byte-order mark."""
    sig = codecs.lookup(codec).name == "utf-8-sig" and data.startswith(codecs.BOM_UTF8)
    return error.start + (len(codecs.BOM_UTF8) if sig else 0)


def _decode_message(data: bytes, path: Path, start: int, tried: str) -> str:
    line = data.count(b"\n", 0, start) + 1
    bad = data[start : start + 4]
    bad = bad[: bad.find(b"\n") + 1] or bad  # up to the line's end, as a streamed line shows
    return bom_message(path, data[:4], bad, tried) or undecodable_message(
        path, start, line, bad, tried
    )


def bom_message(path: Path, start: bytes, bad: bytes, tried: str) -> str | None:
    """The error for a file that starts with a UTF-16/32 byte-order mark (None if it does not):
    the mark says which encoding the file is in."""
    bom = next((name for mark, name in _BOMS if start.startswith(mark)), None)
    if bom is None:
        return None
    name = bom.replace("_", "-")
    return (
        f"{path}: not valid {tried}: the file starts with a {name.upper()} byte-order mark "
        f"(bytes {bad.hex(' ')}). Pass --encoding {name} (or --encoding auto)."
    )


def undecodable_message(path: Path, offset: int, line: int, bad: bytes, tried: str) -> str:
    return (
        f"{path}: not valid {tried} at byte offset {offset} (line {line}, bytes {bad.hex(' ')}). "
        "Pass the file's encoding with --encoding (for example --encoding latin-1 or "
        "--encoding cp1252), or --encoding auto to detect it."
    )
