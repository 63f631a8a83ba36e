"""`audit shift --train DATA --bench DATA`: distribution-shift tests and per-item typicality."""

from typing import Annotated

import typer

from auditor.cli import options as opt
from auditor.cli.console import progress_bar, stdout
from auditor.embeddings import Encoder
from auditor.errors import InputError
from auditor.overlap import build_probes
from auditor.render.shift import render_shift
from auditor.scan import DEFAULT_BATCH_SIZE
from auditor.shift import DEFAULT_ALPHA, run_shift
from probes import PROBES, SHIFT_PROBES


def shift(
    train: Annotated[
        str, typer.Option("--train", help="Training data: DATA (see `audit --help`).")
    ],
    bench: Annotated[str, typer.Option("--bench", help="Benchmark: a card (trec:test) or DATA.")],
    probe: Annotated[
        list[str] | None,
        typer.Option(
            "--probe",
            "-p",
            help=f"Tests to run (repeatable; default all: {', '.join(SHIFT_PROBES)}).",
        ),
    ] = None,
    alpha: Annotated[
        float, typer.Option("--alpha", help="Family-wise error rate of the Holm-corrected verdict.")
    ] = DEFAULT_ALPHA,
    permutations: Annotated[
        int | None,
        typer.Option("--permutations", help="Permutations per test (default: mmd 1000, c2st 200)."),
    ] = None,
    max_train: Annotated[
        int, typer.Option("--max-train", help="Training items sampled for the embedding tests.")
    ] = 2000,
    encoder: Annotated[
        str, typer.Option("--encoder", help="Sentence encoder: minilm, a folder, or hf:ORG/NAME.")
    ] = "minilm",
    batch_size: Annotated[
        int, typer.Option("--batch-size", help="Training items per streamed batch.")
    ] = DEFAULT_BATCH_SIZE,
    top: Annotated[int, typer.Option("--top", help="Least typical items shown.")] = 10,
    output: opt.Format = opt.OutputFormat.table,
    out: opt.Out = None,
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
    """Test whether the benchmark is drawn from the training distribution.

    Tests: mmd (kernel two-sample test on MiniLM embeddings), c2st (classifier two-sample test),
    typicality (per-item kNN conformal p-value and coverage), labels (label shares, chi-square)
    and lexical (length KS test, out-of-vocabulary rate). The verdict is Holm-corrected.
    """
    names = probe or list(SHIFT_PROBES)
    for name in names:
        if PROBES.get(name).kind != "shift":
            raise InputError(
                f"--probe {name}: not a shift test. Shift tests: {', '.join(SHIFT_PROBES)}."
            )
    if not 0.0 < alpha < 1.0:
        raise InputError("--alpha must lie strictly between 0 and 1.")
    if permutations is not None and permutations < 1:
        raise InputError("--permutations must be at least 1.")
    if max_train < 2 or batch_size < 1:
        raise InputError("--max-train must be at least 2 and --batch-size at least 1.")
    load = opt.load_options(text_field, label_field, encoding, skip_bad_lines, max_line_chars)
    bench_corpus, train_corpus = opt.load_data([bench, train], load, quiet)
    sampled = {"max_train": max_train, "seed": seed, "model": encoder}
    params = {
        "mmd": {**sampled, **({"n_permutations": permutations} if permutations else {})},
        "c2st": {**sampled, **({"n_permutations": permutations} if permutations else {})},
        "typicality": sampled,
    }
    shared_encoder = Encoder(encoder, device=device, cache_dir=cache_dir)
    with progress_bar(quiet) as on_progress:
        report = run_shift(
            train_corpus, bench_corpus, build_probes(names, params), alpha=alpha,
            encoder=shared_encoder, batch_size=batch_size, on_progress=on_progress,
        )  # fmt: skip
    payload = report.model_dump_json(indent=2)
    opt.write_json(payload, out, quiet)
    if output is opt.OutputFormat.json:
        print(payload)
    else:
        render_shift(report, bench_corpus, stdout, top=top)
