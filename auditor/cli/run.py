"""`audit run --model MODEL --bench DATA [--train DATA] [--base MODEL]`: the whole audit."""

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from auditor.cache import atomic_write_text
from auditor.cli import options as opt
from auditor.cli.console import note, progress_bar, stdout
from auditor.cli.evaluate import AllowPickle, TrustRemoteCode
from auditor.controls import BUDGETS
from auditor.errors import InputError
from auditor.render.html import render_html
from auditor.render.markdown import render_markdown
from auditor.render.run import render_run
from auditor.run import default_train, run_audit
from auditor.shift import DEFAULT_ALPHA


class ReportFormat(StrEnum):
    """How `audit run` prints its report: table for a terminal, the rest for files and scripts."""

    table = "table"
    json = "json"
    markdown = "markdown"
    html = "html"


SUFFIXES = {".json": ReportFormat.json, ".md": ReportFormat.markdown, ".html": ReportFormat.html}


def run(
    model: Annotated[
        str, typer.Option("--model", help="Candidate: a folder, hf:ORG/NAME, or minilm.")
    ],
    bench: Annotated[str, typer.Option("--bench", help="Benchmark: a card (trec) or DATA.")],
    train: Annotated[
        str | None,
        typer.Option("--train", help="Post-training data (default: the card's train split)."),
    ] = None,
    base: Annotated[
        str | None,
        typer.Option("--base", help="Base model of the controls (default: the candidate)."),
    ] = None,
    budget: Annotated[
        str, typer.Option("--budget", help=f"Control budget: {', '.join(BUDGETS)}.")
    ] = "quick",
    seeds: Annotated[int, typer.Option("--seeds", help="Control seeds.")] = 1,
    alpha: Annotated[
        float, typer.Option("--alpha", help="Shift verdict's error rate.")
    ] = DEFAULT_ALPHA,
    allow_pickle: AllowPickle = False,
    trust_remote_code: TrustRemoteCode = False,
    output: Annotated[
        ReportFormat,
        typer.Option("--format", "-f", help="table (rich), json, markdown or html on stdout."),
    ] = ReportFormat.table,
    out: Annotated[
        list[Path] | None,
        typer.Option("--out", "-o", help="Write the report; .json, .md or .html (repeatable)."),
    ] = None,
    cache_dir: opt.CacheDir = None,
    seed: opt.Seed = 0,
    device: opt.Device = "cpu",
    quiet: opt.Quiet = False,
    text_field: opt.TextField = None,
    label_field: opt.LabelField = None,
    encoding: opt.Encoding = None,
    skip_bad_lines: opt.SkipBadLines = False,
    max_line_chars: opt.MaxLineChars = 10_000_000,
) -> None:
    """Audit a model's benchmark score: overlap, shift, controls and attribution.

    Runs the overlap and shift probes in one pass over the training data, scores the candidate,
    trains (or reuses) the scratch and pretrained controls, and splits the candidate's accuracy
    above chance into distribution fitting, transfer and residual, with bootstrap intervals.
    """
    if seeds < 1:
        raise InputError("--seeds must be at least 1.")
    load = opt.load_options(text_field, label_field, encoding, skip_bad_lines, max_line_chars)
    (bench_corpus,) = opt.load_data([bench], load, quiet)
    (train_corpus,) = opt.load_data([default_train(bench_corpus, train)], load, quiet)
    with progress_bar(quiet) as on_progress:
        report = run_audit(
            model, bench_corpus, train_corpus, base=base, budget=budget, seeds=seeds,
            alpha=alpha, seed=seed, device=device, cache_dir=cache_dir,
            allow_pickle=allow_pickle, trust_remote_code=trust_remote_code,
            on_progress=on_progress,
        )  # fmt: skip
    writers = {
        ReportFormat.json: lambda: report.model_dump_json(indent=2) + "\n",
        ReportFormat.markdown: lambda: render_markdown(report, bench_corpus),
        ReportFormat.html: lambda: render_html(report, bench_corpus, train_corpus),
    }
    for path in out or []:
        if path.suffix.lower() not in SUFFIXES:
            raise InputError(f"--out {path}: name the file .json, .md or .html.")
        atomic_write_text(path, writers[SUFFIXES[path.suffix.lower()]]())
        note(f"wrote {path}", quiet)
    if output is ReportFormat.table:
        render_run(report, bench_corpus, train_corpus, stdout)
    else:
        sys.stdout.write(writers[output]())
