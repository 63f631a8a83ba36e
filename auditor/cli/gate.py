"""`audit gate REPORT.json [--policy FILE]`: pass or fail a run report against a policy."""

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from auditor.cache import atomic_write_bytes
from auditor.cli.console import stdout
from auditor.cli.options import check_file
from auditor.errors import ExitCode
from auditor.gate import (
    DEFAULT_POLICY,
    annotation,
    check,
    junit,
    load_policy,
    load_report,
    markdown,
    passed,
)

_STYLE = {"pass": "green", "fail": "bold red", "warn": "yellow"}


def gate(
    report: Annotated[Path, typer.Argument(help="A report written by `audit run --out FILE`.")],
    policy: Annotated[
        Path, typer.Option("--policy", help="Policy TOML (default: auditor/policies/default.toml).")
    ] = DEFAULT_POLICY,
    junit_file: Annotated[
        Path | None, typer.Option("--junit", help="Also write JUnit XML here.")
    ] = None,
) -> None:
    """Check a run report against the policy's limits: exit 0 pass, 1 fail, 2 bad input.

    Prints one line per rule; in GitHub Actions also writes a Markdown summary to
    $GITHUB_STEP_SUMMARY and an ::error annotation per failed rule.
    """
    junit_file = check_file(junit_file, "--junit")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        check_file(Path(summary), "$GITHUB_STEP_SUMMARY")
    rules = load_policy(policy)
    outcomes = check(load_report(report), rules)
    ok = passed(outcomes, rules)
    for o in outcomes:
        value = "—" if o.value is None else f"{o.value:.4g}"
        limit = "—" if o.limit is None else f"{o.limit:g}"
        line = Text(f"{o.status.upper():4s} ", style=_STYLE[o.status])
        line.append(f"{o.rule}: value {value}, limit {limit} ({o.message})")
        stdout.print(line)
    stdout.print(Text("gate passed" if ok else "gate failed", style="green" if ok else "bold red"))
    if os.environ.get("GITHUB_ACTIONS") == "true":
        for o in outcomes:
            if o.status != "pass":
                print(annotation(o))
    if summary:
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(markdown(outcomes, ok))
    if junit_file is not None:
        atomic_write_bytes(junit_file, junit(outcomes))
    if not ok:
        raise typer.Exit(int(ExitCode.GATE_FAILED))
