"""`audit render REPORT.json`: a saved report in another format, without data or models."""

from pathlib import Path
from typing import Annotated

import typer

from auditor.cli import options as opt
from auditor.report_io import read_report


@opt.with_options
def render(
    report: Annotated[
        Path, typer.Argument(help="A JSON report of `audit run`, `overlap` or `shift`.")
    ],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No notes on stderr.")] = False,
    output: opt.Output = None,
) -> None:
    """Re-render a saved report: table, Markdown, HTML or JSON, on stdout or to --out files."""
    output.emit(read_report(report), quiet)
