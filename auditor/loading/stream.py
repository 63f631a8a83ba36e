"""Reading a local file of one item per line without holding the file or its rows in memory.

JSONL, plain text and `LABEL TEXT` files in UTF-8 (the default encoding; `--encoding` anything
else reads the whole file, as detection needs it) are read line by line, gzip-compressed or
not, and their records go straight into Arrow chunks (`auditor.loading.build`): memory holds one
line and one chunk of rows beside the Arrow columns, never a Python object per row. Every error
names what the whole-file path names: the file, the line, the byte offset of an undecodable
byte.
"""

import codecs
import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path

from auditor.errors import InputError
from auditor.loading.encoding import bom_message, check_not_compressed, undecodable_message
from auditor.loading.readers import ReadOptions, checked_line

STREAMED_ENCODINGS = (None, "utf-8", "utf8")


def stream_lines(path: Path, options: ReadOptions) -> Iterator[tuple[int, str]]:
    """`(line number, line)` of a UTF-8 file (optionally .gz), split on "\\n" only."""
    compressed = path.name.endswith(".gz")
    try:
        handle = gzip.open(path, "rb") if compressed else open(path, "rb")  # noqa: SIM115
    except OSError as error:
        raise InputError(f"{path}: cannot read the file ({error.strerror}).") from error
    offset = 0
    try:
        with handle:
            for number, raw in enumerate(handle, start=1):
                skip = 0
                if number == 1:
                    if not compressed:
                        check_not_compressed(path, raw[:2])
                    message = bom_message(path, raw[:4], raw[:4], "utf-8")
                    if message:
                        raise InputError(message)
                    skip = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
                try:
                    line = raw[skip:].decode("utf-8")
                except UnicodeDecodeError as error:
                    start = skip + error.start
                    bad = raw[start : start + 4]
                    message = undecodable_message(path, offset + start, number, bad, "utf-8")
                    raise InputError(message) from None
                offset += len(raw)
                yield number, checked_line(line.removesuffix("\n"), number, path, options)
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise InputError(f"{path}: named .gz but not a valid gzip file ({error}).") from error
    except OSError as error:
        raise InputError(f"{path}: cannot read the file ({error.strerror}).") from error
