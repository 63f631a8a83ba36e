"""`audit overlap --train DATA --bench DATA`: contamination probes with per-item verdicts."""

from typing import Annotated

import typer

from auditor.cli import options as opt
from auditor.cli.console import progress_bar
from auditor.cli.probing import CalibrationOptions, ProbeOptions
from auditor.overlap import KINDS, run_overlap
from probes.base import FitContext


@opt.with_options
def overlap(
    train: opt.TrainData,
    bench: opt.BenchData,
    ngram_n: Annotated[
        int, typer.Option("--ngram-n", min=1, help="Largest n of the ngram probe (ngram.n).")
    ] = 13,
    minhash_threshold: Annotated[
        float,
        typer.Option("--minhash-threshold", min=0.0, max=1.0,
                     help="Jaccard flag threshold (minhash.threshold)."),
    ] = 0.5,
    embedding_threshold: Annotated[
        float,
        typer.Option("--embedding-threshold", min=0.0, max=1.0,
                     help="Cosine flag threshold (embedding.threshold)."),
    ] = 0.88,
    probes: ProbeOptions = None,
    calibration: CalibrationOptions = None,
    output: opt.Output = None,
    runtime: opt.Runtime = None,
    compute: opt.EngineOptions = None,
    data: opt.PairedDataOptions = None,
) -> None:  # fmt: skip
    """Find benchmark items that leaked into the training data.

    Probes: exact (normalised equality and containment), ngram (n-gram coverage, n chosen from
    the benchmark's item lengths), containment (share of the item's 3-grams in one training
    document, on text with numbers and names replaced by placeholders),
    minhash (5-gram Jaccard), embedding (MiniLM cosine of skeletons to the best window of each
    training document), alignment (the item's sentences matched one by one to one document's),
    and any overlap probe a plugin registers. An item is flagged when any probe flags it;
    containment, embedding and alignment are combined into one test whose cut-off is set at the
    target false-positive rate (--fpr) on a null sample drawn from the training data itself.
    """
    # Imported here, not at the top: `audit --help` and the option checks need no torch.
    from auditor.embeddings import Encoder

    names = probes.names(KINDS, "audit overlap")
    shortcuts = {"ngram": {"n": ngram_n}, "minhash": {"threshold": minhash_threshold},
                 "embedding": {"threshold": embedding_threshold}}  # fmt: skip
    built = probes.build(names, {"seed": runtime.seed, "model": probes.encoder,
                                 "device": runtime.device}, shortcuts)  # fmt: skip
    bench_corpus, train_corpus = data.load([(bench, "bench"), (train, "train")], runtime.quiet)
    encoder = Encoder(probes.encoder, device=runtime.device, cache_dir=runtime.cache_dir)
    with progress_bar(runtime.quiet) as on_progress:
        report = run_overlap(
            train_corpus, bench_corpus, built, context=FitContext(encoder=encoder),
            batch_size=probes.batch_size, on_progress=on_progress, fpr=calibration.fpr,
            null_size=calibration.null_size, seed=runtime.seed, engine=compute.built,
        )  # fmt: skip
    output.emit(report, runtime.quiet)
