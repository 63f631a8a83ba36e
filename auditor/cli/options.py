"""Options shared by several commands, declared once (Typer `Annotated` types)."""

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from auditor.cache import atomic_write_text
from auditor.cli.console import note
from auditor.corpus import Corpus
from auditor.loading import LoadOptions, load_corpus
from auditor.loading.readers import ReadOptions


class OutputFormat(StrEnum):
    """How a command prints its result; `table` is for people, `json` for scripts."""

    table = "table"
    json = "json"


Format = Annotated[
    OutputFormat,
    typer.Option("--format", "-f", help="table: rich terminal output; json: the report on stdout."),
]
Out = Annotated[
    Path | None, typer.Option("--out", "-o", help="Also write the JSON report to this file.")
]
CacheDir = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir",
        help="Cache for embeddings (default $AUDIT_CACHE_DIR or ~/.cache/audit).",
        envvar="AUDIT_CACHE_DIR",
    ),
]
Seed = Annotated[int, typer.Option("--seed", help="Seed for every randomised step.")]
Device = Annotated[
    str,
    typer.Option("--device", help="cpu, cuda, or auto (cuda when available)."),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or notes on stderr.")]
TextField = Annotated[
    str | None,
    typer.Option(
        "--text-field",
        help="Field holding the text: a name, a dotted path, or a template like '{q}\\n{a}'.",
    ),
]
LabelField = Annotated[str | None, typer.Option("--label-field", help="Field holding the label.")]
Encoding = Annotated[
    str | None,
    typer.Option(
        "--encoding",
        help="Text encoding of local files (default strict UTF-8; `auto` detects and reports).",
    ),
]
SkipBadLines = Annotated[
    bool,
    typer.Option("--skip-bad-lines", help="Skip malformed lines (counted) instead of failing."),
]
MaxLineChars = Annotated[
    int, typer.Option("--max-line-chars", help="Longest line accepted in a text file.")
]


def load_options(
    text_field: str | None,
    label_field: str | None,
    encoding: str | None,
    skip_bad_lines: bool,
    max_line_chars: int,
) -> LoadOptions:
    return LoadOptions(
        text_field=text_field,
        label_field=label_field,
        encoding=encoding,
        read=ReadOptions(max_line_chars=max_line_chars, skip_bad_lines=skip_bad_lines),
    )


def load_data(specs: list[str], options: LoadOptions, quiet: bool) -> list[Corpus]:
    """Load each DATA argument, printing what loading decided (detected encodings, skips)."""
    corpora = [load_corpus(spec, options) for spec in specs]
    for corpus in corpora:
        for message in corpus.notes:
            note(message, quiet)
    return corpora


def write_json(payload: str, out: Path | None, quiet: bool) -> None:
    """Write a JSON report to `--out` atomically, if asked."""
    if out is not None:
        atomic_write_text(out, payload + "\n")
        note(f"wrote {out}", quiet)
