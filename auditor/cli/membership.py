"""`audit membership --model MODEL --bench DATA [--reference MODEL]`: evidence from the model."""

from typing import Annotated

import typer

from auditor.cli import options as opt
from auditor.cli.console import note, progress_bar
from auditor.cli.probing import ProbeChoice

KINDS = ("model",)

Reference = Annotated[
    str | None,
    typer.Option("--reference", help="A model that did not see the benchmark (same family as "
                 "--model): the null the flags are calibrated on, and the reference probe's "
                 "baseline."),
]  # fmt: skip
MembershipFpr = Annotated[
    float,
    typer.Option("--fpr", min=0.001, max=0.5, help="Target false-positive rate of the membership "
                 "flags (calibrated on the reference model)."),
]  # fmt: skip

DeclaredTrain = Annotated[
    str | None,
    typer.Option("--train", help="The declared training data, when there is some: the overlap "
                 "probes run too, each model probe's AUROC against their verdict is reported, "
                 "and items the model flags but no overlap probe finds are listed."),
]  # fmt: skip


@opt.with_options
def membership(
    model: opt.ModelData,
    bench: opt.BenchData,
    reference: Reference = None,
    fpr: MembershipFpr = 0.01,
    train: DeclaredTrain = None,
    probes: ProbeChoice = None,
    models: opt.ModelOptions = None,
    output: opt.Output = None,
    runtime: opt.Runtime = None,
    data: opt.PairedDataOptions = None,
) -> None:
    """Read contamination evidence from the model itself; no training data needed.

    Scores every benchmark item by the model's token probabilities (loss, zlib, mink: Min-K%,
    minkpp: Min-K%++, reference: minus a reference model's, rewrite: the likelihood lost on
    rewritten twins), higher = more likely seen in training. With --reference the items are
    flagged at a target false-positive rate and the rewrite test compares the two models;
    without one the scores rank items and flag none. With --train the overlap probes run too
    (their default settings, calibrated at 1%), to compare the two kinds of evidence. Needs a
    causal LM.
    """
    # Imported here, not at the top: `audit --help` and the option checks need no torch.
    from auditor.errors import InputError
    from auditor.membership import load_causal, run_membership
    from auditor.tasks import task_of

    names = probes.names(KINDS, "audit membership")
    if reference is None:
        if probes.probe and "reference" in probes.probe:
            raise InputError("--probe reference compares the model with a reference model: "
                             "pass --reference MODEL.")  # fmt: skip
        names = [name for name in names if name != "reference"]
    built = probes.build(names, {"seed": runtime.seed})
    (corpus,) = data.load([(bench, "bench")], runtime.quiet)
    try:
        task = task_of(corpus).task
    except InputError:  # plain text: scored as it is, twins by the default rule
        task = None
    with progress_bar(runtime.quiet) as on_progress:
        overlap_flags = None
        if train is not None:
            overlap_flags = _overlap_verdict(data.load([(train, "train")], runtime.quiet)[0],
                                             corpus, runtime, on_progress)  # fmt: skip
        note(f"scoring {len(corpus):,} items of {corpus.source} under {model}", runtime.quiet)
        loaded = load_causal(model, runtime.device, on_progress, **models.load_kwargs())
        other = (load_causal(reference, runtime.device, on_progress, **models.load_kwargs())
                 if reference else None)  # fmt: skip
        report = run_membership(loaded, corpus, built, reference=other,
                                reference_how="--reference" if reference else None, task=task,
                                fpr=fpr, overlap_flags=overlap_flags)  # fmt: skip
    output.emit(report, runtime.quiet)


def _overlap_verdict(train, bench, runtime: opt.Runtime, on_progress):
    """Each benchmark item's overlap verdict against `train` (every overlap probe, defaults)."""
    import numpy as np

    from auditor.embeddings import Encoder
    from auditor.overlap import run_overlap
    from probes.base import FitContext

    encoder = Encoder("minilm", device=runtime.device, cache_dir=runtime.cache_dir)
    report = run_overlap(train, bench, context=FitContext(encoder=encoder),
                         on_progress=on_progress, seed=runtime.seed)  # fmt: skip
    return np.array([item.flagged for item in report.items])
