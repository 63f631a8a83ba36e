"""File readers, one per format, behind one registry keyed by format name.

Each reader turns a file's text into `(where, record)` pairs, `where` being the `path:line` a
message should point at. Lines are split on "\\n" only (some real files carry U+0085 or U+2028
inside items, which `str.splitlines` would break on). A malformed line is an error naming the line,
or, with `skip_bad_lines`, skipped and counted in `ReadResult.skipped`.
"""

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.errors import InputError

Record = dict[str, Any]


@dataclass
class ReadOptions:
    max_line_chars: int = 10_000_000
    skip_bad_lines: bool = False


@dataclass
class ReadResult:
    rows: list[tuple[str, Record]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """`where: why` for each line skipped under `skip_bad_lines`."""


class _BadLine(Exception):
    """A line that cannot be parsed; `read_text` turns it into an error or a skip."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


Parser = Callable[[str, str], Record | None]
"""(line, where) -> record, or None for a line that holds no item (blank)."""

READERS: dict[str, Callable[[str, Path, ReadOptions], ReadResult]] = {}

SUFFIX_FORMATS = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".tsv": "tsv",
    ".parquet": "parquet", ".txt": "txt", ".all": "label_text",
}  # fmt: skip
"""Format by suffix (after any `.gz`). `.all` is the `LABEL TEXT` format of the Kim (2014)
files the TREC card ships (`TREC.train.all`), so a copy of one, or a file written like one, reads
with the card's own parser."""


def reader(name: str) -> Callable:
    def register(function: Callable) -> Callable:
        if name in READERS:
            raise ValueError(f"reader {name!r} registered twice")
        READERS[name] = function
        return function

    return register


def _lines(text: str, path: Path, options: ReadOptions) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(text.split("\n"), start=1):
        yield number, checked_line(line, number, path, options)


def checked_line(line: str, number: int, path: Path, options: ReadOptions) -> str:
    """The line without its "\r", after checking its length against `max_line_chars`."""
    if len(line) > options.max_line_chars:
        raise InputError(
            f"{path}:{number}: line is {len(line):,} characters, over the limit of "
            f"{options.max_line_chars:,}. Raise it with --max-line-chars if the line is "
            "meant to be one item, or check that the file is what you think it is."
        )
    return line.removesuffix("\r")


def parse_lines(
    lines: Iterable[tuple[int, str]],
    path: Path,
    options: ReadOptions,
    parse: Parser,
    skipped: list[str],
) -> Iterator[tuple[str, Record]]:
    """`(where, record)` for each line that holds an item; a bad line is an error naming it or,
    with `skip_bad_lines`, recorded in `skipped` (filled as the lines are read)."""
    for number, line in lines:
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = parse(line, where)
        except _BadLine as error:
            if not options.skip_bad_lines:
                raise InputError(
                    f"{where}: {error} Fix the line, or pass --skip-bad-lines to skip such "
                    "lines (they are counted in the report)."
                ) from None
            skipped.append(f"{where}: {error}")
            continue
        if record is not None:
            yield where, record


def _read_lines(text: str, path: Path, options: ReadOptions, parse: Parser) -> ReadResult:
    result = ReadResult()
    result.rows = list(parse_lines(_lines(text, path, options), path, options, parse,
                                   result.skipped))  # fmt: skip
    return result


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
"""A `\\uD800`-`\\uDFFF` escape: JSON allows one alone, but it is no character and cannot be
written as UTF-8 (Arrow, the caches and the reports would fail on it far from the file)."""


def _json_error(error: json.JSONDecodeError) -> str:
    """The decoder's reason with its column, without "starting at at column 10"."""
    message = error.msg.removesuffix(" at")
    return f"{message} at column {error.colno}"


def parse_json(text: str) -> Any:
    """`json.loads` whose every failure is a `_BadLine` (with the line where one is known):
    malformed JSON, nesting past the recursion limit, integers past Python's digit limit, and
    lone surrogate escapes. Anything else would escape the reader as a traceback (exit 3)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise _BadLine(f"malformed JSON ({_json_error(error)}).", error.lineno) from None
    except RecursionError:
        raise _BadLine(
            "JSON nested too deeply to read (beyond Python's recursion limit); flatten the record."
        ) from None
    except ValueError as error:  # int('9' * 5000): "Exceeds the limit (4300 digits) ..."
        raise _BadLine(
            f"a JSON number is too long to read ({str(error).split(';')[0]}); write it as a string."
        ) from None
    if _SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as error:
            code = f"\\u{ord(error.object[error.start]):04x}"
            raise _BadLine(
                f"a string holds a lone surrogate escape ({code}), which is no character (half "
                "of a UTF-16 pair); fix the program that wrote it."
            ) from None
    return value


def _json_object(line: str, where: str) -> Record:
    value = parse_json(line)
    if not isinstance(value, dict):
        kind = "a JSON array" if isinstance(value, list) else f"a JSON {type(value).__name__}"
        raise _BadLine(f"holds {kind} where a JSON object (one item) is expected.")
    return value


@reader("jsonl")
def read_jsonl(text: str, path: Path, options: ReadOptions) -> ReadResult:
    return _read_lines(text, path, options, _json_object)


def _text_line(line: str, where: str) -> Record:
    return {"text": line}


@reader("txt")
def read_txt(text: str, path: Path, options: ReadOptions) -> ReadResult:
    return _read_lines(text, path, options, _text_line)


_LABEL = re.compile(r"(\S+)\s")
"""A label: the line's first whitespace-free token, then one whitespace character. The Kim
(2014) files use one space (`5 How far is it from Denver to Aspen ?`); a tab is read the same
way, never as part of the label."""


def _label_text(line: str, where: str) -> Record:
    """`LABEL TEXT`, the format of the shipped TREC and SST-2 files and of local `.all` files."""
    if line[0].isspace():
        raise _BadLine(
            "starts with whitespace, so it has no label; expected `LABEL TEXT` (a label, one "
            "space or tab, then the text)."
        )
    match = _LABEL.match(line)
    if match is None or not line[match.end() :].strip():
        label = line.split()[0]
        raise _BadLine(
            f"holds the label {label!r} but no text after it; expected `LABEL TEXT` (a label, "
            "one space or tab, then the text)."
        )
    return {"label": match.group(1), "text": line[match.end() :]}


@reader("label_text")
def read_label_text(text: str, path: Path, options: ReadOptions) -> ReadResult:
    return _read_lines(text, path, options, _label_text)


LINE_PARSERS: dict[str, Parser] = {"jsonl": _json_object, "txt": _text_line,
                                   "label_text": _label_text}  # fmt: skip
"""Formats of one item per line, which large files stream through (`auditor.loading.stream`)."""


@reader("json")
def read_json(text: str, path: Path, options: ReadOptions) -> ReadResult:
    try:
        value = parse_json(text)
    except _BadLine as error:
        where = f"{path}:{error.line}" if error.line else str(path)
        raise InputError(
            f"{where}: {error} If the file holds one JSON object per line, name it .jsonl."
        ) from None
    if isinstance(value, dict):
        lists = [key for key, item in value.items() if isinstance(item, list)]
        if len(lists) != 1:
            raise InputError(
                f"{path}: expected a JSON array of objects, or an object with one list of "
                f"objects; found an object with keys {list(value)[:10]}."
            )
        value = value[lists[0]]
    if not isinstance(value, list):
        raise InputError(f"{path}: expected a JSON array of objects, found {type(value).__name__}.")
    result = ReadResult()
    for index, item in enumerate(value):
        where = f"{path} item {index}"
        if not isinstance(item, dict):
            message = f"{where}: a {type(item).__name__} where a JSON object is expected."
            if not options.skip_bad_lines:
                raise InputError(message + " Every element of the array must be an object.")
            result.skipped.append(message)
            continue
        result.rows.append((where, item))
    return result


def _read_delimited(text: str, path: Path, options: ReadOptions, delimiter: str) -> ReadResult:
    csv.field_size_limit(options.max_line_chars)
    # strict: a quote left open at the end of the file is an error, not one field swallowing
    # every line after it (a file cut short must never be read as if whole).
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    result = ReadResult()
    try:
        header = next(rows, None)
        if header is None:
            raise InputError(f"{path}: the file is empty; expected a header row.")
        for row in rows:
            where = f"{path}:{rows.line_num}"
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                message = f"{where}: {len(row)} fields where the header has {len(header)}."
                if not options.skip_bad_lines:
                    raise InputError(
                        message + " Quote fields that contain the delimiter, or pass "
                        "--skip-bad-lines."
                    )
                result.skipped.append(message)
                continue
            result.rows.append((where, dict(zip(header, row, strict=True))))
    except csv.Error as error:
        raise InputError(
            f"{path}:{rows.line_num}: malformed {'CSV' if delimiter == ',' else 'TSV'} ({error}); "
            "a quoted field must end with a quote followed by the delimiter or the line's end "
            "(is the file cut short?)."
        ) from None
    return result


@reader("csv")
def read_csv(text: str, path: Path, options: ReadOptions) -> ReadResult:
    return _read_delimited(text, path, options, ",")


@reader("tsv")
def read_tsv(text: str, path: Path, options: ReadOptions) -> ReadResult:
    return _read_delimited(text, path, options, "\t")
