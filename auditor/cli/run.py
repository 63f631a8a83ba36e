"""`audit run --model MODEL --bench DATA [--train DATA] [--base MODEL]`: the whole audit."""

from typing import Annotated

import typer

from auditor.cli import options as opt
from auditor.cli.console import progress_bar
from auditor.cli.probing import CalibrationOptions, ProbeOptions
from auditor.cli.shift import Alpha
from auditor.controls import BUDGETS
from auditor.errors import InputError
from auditor.shift import DEFAULT_ALPHA


@opt.with_options
def run(
    model: opt.ModelData,
    bench: opt.BenchData,
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
    seeds: Annotated[
        int | None,
        typer.Option(
            "--seeds", min=1, help="Control seeds (default: the budget's; quick 1, full 3)."
        ),
    ] = None,
    alpha: Alpha = DEFAULT_ALPHA,
    probes: ProbeOptions = None,
    calibration: CalibrationOptions = None,
    models: opt.ModelOptions = None,
    output: opt.Output = None,
    runtime: opt.Runtime = None,
    data: opt.PairedDataOptions = None,
) -> None:
    """Audit a model's benchmark score: overlap, shift, controls and attribution.

    Runs the overlap and shift probes in one pass over the training data, scores the candidate,
    trains (or reuses) the scratch and pretrained controls, and splits the candidate's accuracy
    above chance into distribution fitting, transfer and residual, with bootstrap intervals.
    """
    # Imported here, not at the top: `audit --help` and the option checks need no torch.
    from auditor.run import KINDS, default_train, run_audit

    if budget not in BUDGETS:
        raise InputError(f"--budget must be one of {', '.join(BUDGETS)}, not {budget!r}.")
    names = probes.names(KINDS, "audit run")
    probe_params = probes.params(selected=names)
    (bench_corpus,) = data.load([(bench, "bench")], runtime.quiet)
    (train_corpus,) = data.load([(default_train(bench_corpus, train), "train")], runtime.quiet)
    with progress_bar(runtime.quiet) as on_progress:
        report = run_audit(
            model, bench_corpus, train_corpus, base=base, budget=budget, seeds=seeds,
            alpha=alpha, seed=runtime.seed, device=runtime.device, cache_dir=runtime.cache_dir,
            batch_size=probes.batch_size, probe_names=names, probe_params=probe_params,
            encoder=probes.encoder, fpr=calibration.fpr, null_size=calibration.null_size,
            on_progress=on_progress, **models.load_kwargs(),
        )  # fmt: skip
    output.emit(report, runtime.quiet)
