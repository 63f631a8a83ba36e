"""Renderers: a report becomes sections (`sections`), laid out in one of the output formats.

`FORMATS` is the one registry of formats every command uses: its `--format` choices, the file
suffixes `--out` accepts, and how each format renders any report kind. Rendering needs the report
alone, so a saved report renders anywhere (`audit render`).
"""

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from auditor.errors import InputError
from auditor.render.membership import membership_sections
from auditor.render.run import run_sections
from auditor.render.sections import TOP, Section, overlap_sections, shift_sections
from auditor.report import Report

SECTIONS: dict[str, Callable[..., list[Section]]] = {
    "overlap": overlap_sections,
    "shift": shift_sections,
    "membership": membership_sections,
    "run": run_sections,
}
"""Report kind (its `report` key) -> what it shows."""


def title(report: Report) -> str:
    if report.report == "run":
        return f"audit: {report.config['model']} on {report.config['bench']}"
    if report.report == "membership":
        return f"audit membership: {report.model} on {report.bench.source}"
    return f"audit {report.report}: {report.bench.source} against {report.train.source}"


def _table(report: Report, top: int, width: int = 100) -> str:
    with io.StringIO() as sink:
        console = Console(
            width=width, file=sink, record=True, color_system=None, emoji=False, highlight=False
        )
        print_table(report, console, top)
        return console.export_text()


def print_table(report: Report, console: Console, top: int = TOP) -> None:
    from auditor.render.terminal import render_terminal

    render_terminal(SECTIONS[report.report](report, top), console)


def _json(report: Report, top: int) -> str:
    return report.model_dump_json(indent=2) + "\n"


def _markdown(report: Report, top: int) -> str:
    from auditor.render.markdown import render_markdown

    return render_markdown(SECTIONS[report.report](report, top), title(report))


def _html(report: Report, top: int) -> str:
    from auditor.render.html import render_html

    return render_html(SECTIONS[report.report](report, top), title(report))


@dataclass(frozen=True)
class Format:
    name: str
    suffix: str
    render: Callable[[Report, int], str]
    help: str


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("table", ".txt", _table, "rich tables for a terminal"),
        Format("json", ".json", _json, "the report object, for scripts"),
        Format("markdown", ".md", _markdown, "fits a GitHub step summary"),
        Format("html", ".html", _html, "one self-contained page with plots"),
    )
}


def format_of(path: Path) -> Format:
    """The format a `--out` path asks for, by its suffix."""
    for fmt in FORMATS.values():
        if path.suffix.lower() == fmt.suffix:
            return fmt
    known = ", ".join(f.suffix for f in FORMATS.values())
    raise InputError(f"--out {path}: unknown suffix {path.suffix or '(none)'!r}; use {known}.")


def render(report: Report, fmt: str, top: int = TOP) -> str:
    return FORMATS[fmt].render(report, top)
