"""One pass over a training corpus, shared by every probe of an audit.

Every probe is fitted on the benchmark; the training corpus is read once, in batches, and each
batch's shared features (word hashes, embeddings) are computed once and handed to every probe's
scan. Worker threads tokenise batches and run the scans' `prepare` step (numpy, which releases
the GIL) on several batches at once; the main thread folds the results in, in batch order.
"""

import os
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from auditor.corpus import Corpus
from auditor.embeddings import Encoder
from probes.base import Probe, ProbeResult, TrainBatch

DEFAULT_BATCH_SIZE = 1024
"""Training items per batch: 1,024 measured fastest (256-2,048) for the n-gram scan."""
WORKERS = max(1, min(4, os.cpu_count() or 1))

Progress = Callable[[str, int, int], None]
"""`(stage, done, total)`, called as work advances (drives progress bars)."""


def run_probes(
    train: Corpus,
    bench: Corpus,
    probes: Sequence[Probe],
    *,
    encoder: Encoder | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_progress: Progress | None = None,
) -> list[ProbeResult]:
    """Fit every probe on `bench`, stream `train` through them once, return their results."""
    progress = on_progress or (lambda stage, done, total: None)
    for number, probe in enumerate(probes):
        progress("indexing benchmark", number, len(probes))
        probe.fit(bench, encoder=encoder)
    progress("indexing benchmark", len(probes), len(probes))
    scans = [probe.start_scan() for probe in probes]
    fingerprint, total = train.fingerprint, len(train)
    progress("scanning training corpus", 0, total)

    def prepare(batch: TrainBatch) -> list:
        return [scan.prepare(batch) for scan in scans]

    def absorb(batch: TrainBatch, prepared: Future) -> None:
        for scan, output in zip(scans, prepared.result(), strict=True):
            scan.absorb(batch, output)
        progress("scanning training corpus", batch.start + len(batch), total)

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        in_flight: deque = deque()
        for corpus_batch in train.batches(batch_size):
            batch = TrainBatch(corpus_batch, fingerprint, total)
            in_flight.append((batch, pool.submit(prepare, batch)))
            if len(in_flight) > WORKERS:
                absorb(*in_flight.popleft())
        while in_flight:
            absorb(*in_flight.popleft())
    return [scan.finish() for scan in scans]
