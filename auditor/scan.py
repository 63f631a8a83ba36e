"""One pass over a training corpus, shared by every probe of an audit.

Every probe is fitted on the benchmark; the training corpus is read once, in batches, and each
batch's shared features (word hashes, embeddings) are computed once and handed to every probe's
scan. Which features a pass computes is what its probes declare in `requires`: a batch refuses
the others. Worker threads tokenise batches and run the scans' `prepare` step (numpy, which
releases the GIL) on several batches at once; the main thread folds the results in, in batch
order. Probes that need nothing from the training data (kind `model`) are fitted and finished
without a pass, so an audit without training data still runs them.
"""

import os
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from auditor.corpus import Corpus
from auditor.errors import InputError
from probes.base import FEATURES, FitContext, Probe, ProbeResult, TrainBatch
from probes.null import NullSample

DEFAULT_BATCH_SIZE = 1024
"""Training items per batch: 1,024 measured fastest (256-2,048) for the n-gram scan."""
WORKERS = max(1, min(4, os.cpu_count() or 1))
BATCH_FEATURES = FEATURES - {"model", "reference"}
"""Features computed from a training batch (the rest come through the fit context)."""

Progress = Callable[[str, int, int], None]
"""`(stage, done, total)`, called as work advances (drives progress bars)."""


def check_requirements(probes: Sequence[Probe], context: FitContext, has_train: bool) -> None:
    """Refuse, before any work, a probe whose needs this audit cannot meet."""
    for probe in probes:
        unknown = probe.requires - FEATURES
        if unknown:
            raise InputError(f"probe {probe.name!r} requires unknown features {sorted(unknown)}.")
        if "model" in probe.requires and context.model is None:
            raise InputError(f"probe {probe.name!r} reads the audited model: pass --model.")
        if "reference" in probe.requires and context.reference is None:
            raise InputError(f"probe {probe.name!r} compares the model with a reference model: "
                             "pass --reference MODEL (a model that did not see the benchmark).")
        if probe.requires & BATCH_FEATURES and not has_train:
            raise InputError(f"probe {probe.name!r} needs training data: pass --train DATA.")


def run_probes(
    train: Corpus | None,
    bench: Corpus,
    probes: Sequence[Probe],
    *,
    context: FitContext | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_progress: Progress | None = None,
) -> list[ProbeResult]:
    """Fit every probe on `bench`, stream `train` through them once, return their results."""
    context = context or FitContext()
    check_requirements(probes, context, train is not None)
    progress = on_progress or (lambda stage, done, total: None)
    for number, probe in enumerate(probes):
        progress("indexing benchmark", number, len(probes))
        probe.fit(bench, context)
    progress("indexing benchmark", len(probes), len(probes))
    scans = [probe.start_scan() for probe in probes]
    streaming = [
        scan for scan, probe in zip(scans, probes, strict=True) if probe.requires & BATCH_FEATURES
    ]
    if train is not None and streaming:
        _stream(train, streaming, _features(probes), batch_size, progress, context.null)
    return [scan.finish() for scan in scans]


def _features(probes: Sequence[Probe]) -> frozenset[str]:
    return frozenset().union(*(probe.requires for probe in probes)) & BATCH_FEATURES


def _stream(
    train: Corpus,
    scans: list,
    features: frozenset[str],
    batch_size: int,
    progress: Progress,
    null: NullSample | None,
) -> None:
    fingerprint, total = train.fingerprint, len(train)
    progress("scanning training corpus", 0, total)

    def prepare(batch: TrainBatch) -> list:
        if "tokens" in features:
            batch.tokens  # noqa: B018 - tokenise in this worker thread, once for every scan
        return [scan.prepare(batch) for scan in scans]

    def absorb(batch: TrainBatch, prepared: Future) -> None:
        for scan, output in zip(scans, prepared.result(), strict=True):
            scan.absorb(batch, output)
        if null is not None:
            null.absorb(batch.start, batch.texts)
        progress("scanning training corpus", batch.start + len(batch), total)

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        in_flight: deque = deque()
        for corpus_batch in train.batches(batch_size):
            batch = TrainBatch(corpus_batch, fingerprint, total, features)
            in_flight.append((batch, pool.submit(prepare, batch)))
            if len(in_flight) > WORKERS:
                absorb(*in_flight.popleft())
        while in_flight:
            absorb(*in_flight.popleft())
