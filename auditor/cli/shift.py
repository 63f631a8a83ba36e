"""`audit shift --train DATA --bench DATA`: distribution-shift tests and per-item typicality."""

from typing import Annotated

import typer

from auditor.cli import options as opt
from auditor.cli.console import progress_bar
from auditor.cli.probing import ProbeOptions
from auditor.shift import DEFAULT_ALPHA, KINDS, run_shift
from probes.base import FitContext


def _alpha(value: str) -> float:
    try:
        alpha = float(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a number.") from None
    if not 0.0 < alpha < 1.0:
        raise typer.BadParameter(f"{value} is not strictly between 0 and 1.")
    return alpha


Alpha = Annotated[
    float,
    typer.Option("--alpha", parser=_alpha,
                 help="Family-wise error rate of the Holm-corrected verdict, in (0, 1)."),
]  # fmt: skip


@opt.with_options
def shift(
    train: opt.TrainData,
    bench: opt.BenchData,
    alpha: Alpha = DEFAULT_ALPHA,
    permutations: Annotated[
        int | None,
        typer.Option("--permutations", min=1,
                     help="Permutations per test (default: mmd 1000, c2st 200)."),
    ] = None,
    max_train: Annotated[
        int, typer.Option("--max-train", min=2,
                          help="Training items sampled for the embedding tests."),
    ] = 2000,
    probes: ProbeOptions = None,
    output: opt.Output = None,
    runtime: opt.Runtime = None,
    compute: opt.EngineOptions = None,
    data: opt.PairedDataOptions = None,
) -> None:  # fmt: skip
    """Test whether the benchmark is drawn from the training distribution.

    Tests: mmd (kernel two-sample test on MiniLM embeddings), c2st (classifier two-sample test),
    typicality (per-item kNN conformal p-value and coverage), labels (label shares, chi-square),
    lexical (length KS test, out-of-vocabulary rate), and any shift probe a plugin registers. The
    verdict is Holm-corrected.
    """
    # Imported here, not at the top: `audit --help` and the option checks need no torch.
    from auditor.embeddings import Encoder

    names = probes.names(KINDS, "audit shift")
    shared = {"seed": runtime.seed, "model": probes.encoder, "max_train": max_train,
              "device": runtime.device}  # fmt: skip
    if permutations is not None:
        shared["n_permutations"] = permutations
    built = probes.build(names, shared)
    bench_corpus, train_corpus = data.load([(bench, "bench"), (train, "train")], runtime.quiet)
    encoder = Encoder(probes.encoder, device=runtime.device, cache_dir=runtime.cache_dir)
    with progress_bar(runtime.quiet) as on_progress:
        report = run_shift(
            train_corpus, bench_corpus, built, alpha=alpha, context=FitContext(encoder=encoder),
            batch_size=probes.batch_size, on_progress=on_progress, engine=compute.built,
        )  # fmt: skip
    output.emit(report, runtime.quiet)
