"""One pass over a training corpus, shared by every probe of an audit.

Every probe is fitted on the benchmark; the training corpus is read once, in batches, and each
batch's shared features (word hashes, embeddings) are computed once and handed to every probe's
scan. Which features a pass computes is what its probes declare in `requires`: a batch refuses
the others. Workers tokenise batches and run the scans' `prepare` step on several batches at
once; the main thread folds the results in, in batch order, so the result is the same whatever
the number of workers. When every probe of the pass says its `prepare` is safe in a forked
process (`Probe.process_safe`: hashing and lookups, no torch), the workers are processes (on
platforms that fork), so the GIL-held normalisation runs on every core; they inherit the fitted
probes and the corpus, receive row ranges and send back only the prepared outputs, and this
process prepares its share of the batches itself (one process per core in all). Otherwise
(an encoder in the pass) they are threads, as numpy and torch release the GIL. Probes that need
nothing from the training data (kind `model`) are fitted and finished without a pass, so an
audit without training data still runs them. Where the `prepare` step and the encoder run is
the pass's `Engine`: `LocalEngine` here (the default), `auditor.scan_ray.RayEngine` on a Ray
cluster; whichever it is, the `absorb` step stays here, in batch order.
"""

import itertools
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Protocol, TypeVar

from auditor.corpus import Corpus, CorpusBatch
from auditor.errors import InputError
from probes.base import FitContext, Probe, ProbeResult, Scan, TrainBatch
from probes.batch import FEATURES
from probes.null import DuplicateScan

if TYPE_CHECKING:
    import numpy as np

    from auditor.embeddings import Encoder

DEFAULT_BATCH_SIZE = 1024
"""Training items per batch: 1,024 measured fastest (256-2,048) for the n-gram scan."""
WORKERS = max(1, min(4, os.cpu_count() or 1))
PROCESSES = max(1, min(8, os.cpu_count() or 1))
"""Processes preparing a pass whose probes are all `process_safe`: this one and the rest forked."""
BATCH_FEATURES = FEATURES - {"model", "reference"}
"""Features computed from a training batch (the rest come through the fit context)."""

Progress = Callable[[str, int, int], None]
"""`(stage, done, total)`, called as work advances (drives progress bars)."""


class Pending(Protocol):
    """A batch being prepared: `result()` waits for every scan's output, in scan order."""

    def result(self) -> list: ...


Submit = Callable[[CorpusBatch, TrainBatch], Pending]
"""Starts every scan's `prepare` of one batch (its rows, and the batch built from them)."""


Job = TypeVar("Job")


class Engine(Protocol):
    """Where the per-batch work runs. `encoding` opens, for the fit and the pass of these probes,
    the fit context they get (its encoder computing where the engine computes). `workers` opens
    the workers of a pass's `prepare` step for these scans (of these probes, in the same order)
    and yields how to submit a batch and how many batches may be in flight at once (what bounds
    the pass's memory). `encodings` embeds the texts of each job with `encoder` (`audit index
    build`), yielding jobs in order."""

    def encoding(
        self, context: FitContext, probes: Sequence[Probe]
    ) -> AbstractContextManager[FitContext]: ...

    def workers(
        self, train: Corpus, scans: list[Scan], probes: list[Probe], features: frozenset[str]
    ) -> AbstractContextManager[tuple[Submit, int]]: ...

    def encodings(
        self, encoder: "Encoder", jobs: Iterable[tuple[Job, list[str]]]
    ) -> Iterator[tuple[Job, "np.ndarray"]]: ...


def check_requirements(probes: Sequence[Probe], context: FitContext, has_train: bool) -> None:
    """Refuse, before any work, a probe whose needs this audit cannot meet."""
    for probe in probes:
        unknown = probe.requires - FEATURES
        if unknown:
            raise InputError(f"probe {probe.name!r} requires unknown features {sorted(unknown)}.")
        if "model" in probe.requires and context.model is None:
            raise InputError(f"probe {probe.name!r} reads the audited model: pass --model.")
        if "reference" in probe.requires and context.reference is None:
            raise InputError(
                f"probe {probe.name!r} compares the model with a reference model: "
                "pass --reference MODEL (a model that did not see the benchmark)."
            )
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
    processes: int | None = None,
    engine: Engine | None = None,
) -> list[ProbeResult]:
    """Fit every probe on `bench`, stream `train` through them once, return their results.
    `processes`: processes preparing batches (this one and forked workers) when every probe is
    process-safe (default `PROCESSES`; 1: threads); `engine`: where the encoder and the `prepare`
    step run (default `LocalEngine(processes)`)."""
    context = context or FitContext()
    check_requirements(probes, context, train is not None)
    progress = on_progress or (lambda stage, done, total: None)
    engine = engine or LocalEngine(processes)
    with engine.encoding(context, probes) as context:
        for number, probe in enumerate(probes):
            progress("indexing benchmark", number, len(probes))
            probe.fit(bench, context)
        progress("indexing benchmark", len(probes), len(probes))
        scans = [probe.start_scan() for probe in probes]
        pairs = [(s, p) for s, p in zip(scans, probes, strict=True) if p.requires & BATCH_FEATURES]
        if train is not None and pairs:
            if context.null is not None:  # the null's duplicate check joins the pass's steps
                check = DuplicateScan(context.null)
                pairs.append((check, check))
            streaming, streamed = [scan for scan, _ in pairs], [probe for _, probe in pairs]
            features = _features(probes)
            with engine.workers(train, streaming, streamed, features) as (submit, window):
                _stream(train, streaming, features, batch_size, progress, submit, window)
        return [scan.finish() for scan in scans]


def _features(probes: Sequence[Probe]) -> frozenset[str]:
    return frozenset().union(*(probe.requires for probe in probes)) & BATCH_FEATURES


_FORKED: dict = {}
"""What forked workers inherit: the corpus, the scans, the features (set while a pool runs)."""


def _prepare_rows(start: int, size: int) -> list:
    """A worker process's job: the batch at rows `start .. start + size`, prepared by every
    scan (from the state inherited at fork)."""
    train, scans, features = _FORKED["train"], _FORKED["scans"], _FORKED["features"]
    batch = TrainBatch(train.batch_at(start, size), train.fingerprint, len(train), features)
    return prepared(batch, scans, features)


class _Here:
    """A batch this process prepares itself, when its result is first asked for: by then the
    workers are busy with batches submitted after it, so they and this process compute at once
    (and one process fewer is forked, with its start-up and its batches' round trips)."""

    def __init__(self, batch: TrainBatch, scans: list, features: frozenset[str]) -> None:
        self.batch, self.scans, self.features = batch, scans, features

    def result(self) -> list:
        return prepared(self.batch, self.scans, self.features)


def prepared(batch: TrainBatch, scans: list, features: frozenset[str]) -> list:
    """Every scan's `prepare` of `batch`, in scan order (tokenised once for all of them)."""
    if "tokens" in features:
        batch.tokens  # noqa: B018 - tokenise once for every scan
    return [scan.prepare(batch) for scan in scans]


class LocalEngine:
    """This machine: this process and forked workers when every probe of the pass is
    process-safe (on platforms that fork), else threads."""

    def __init__(self, processes: int | None = None) -> None:
        self.processes = processes
        """Processes preparing a process-safe pass, this one included (default `PROCESSES`; 1:
        threads)."""

    @contextmanager
    def encoding(self, context: FitContext, probes: Sequence[Probe]) -> Iterator[FitContext]:
        """The context as it is: its encoder computes in this process."""
        yield context

    @contextmanager
    def workers(
        self, train: Corpus, scans: list[Scan], probes: list[Probe], features: frozenset[str]
    ) -> Iterator[tuple[Submit, int]]:
        forked = "fork" in multiprocessing.get_all_start_methods() and all(
            probe.process_safe for probe in probes
        )
        processes = (PROCESSES if self.processes is None else self.processes) if forked else 1

        turns = itertools.count()

        def submit(rows: CorpusBatch, batch: TrainBatch) -> Pending:
            if processes == 1:
                return pool.submit(prepared, batch, scans, features)
            if next(turns) % processes == processes - 1:  # one batch in `processes` stays here
                return _Here(batch, scans, features)
            return pool.submit(_prepare_rows, batch.start, len(batch))

        if processes > 1:
            _FORKED.update(train=train, scans=scans, features=features)
            fork = multiprocessing.get_context("fork")
            pool: Executor = ProcessPoolExecutor(processes - 1, mp_context=fork)
        else:
            pool = ThreadPoolExecutor(max_workers=WORKERS)
        try:
            with pool:
                yield submit, max(processes, WORKERS)
        finally:
            _FORKED.clear()

    def encodings(
        self, encoder: "Encoder", jobs: Iterable[tuple[Job, list[str]]]
    ) -> Iterator[tuple[Job, "np.ndarray"]]:
        """In this process, one job after the other (torch's threads use the cores)."""
        for job, texts in jobs:
            yield job, encoder.encode(texts)


def _stream(
    train: Corpus,
    scans: list,
    features: frozenset[str],
    batch_size: int,
    progress: Progress,
    submit: Submit,
    window: int,
) -> None:
    fingerprint, total = train.fingerprint, len(train)
    progress("scanning training corpus", 0, total)

    def absorb(batch: TrainBatch, pending: Pending) -> None:
        for scan, output in zip(scans, pending.result(), strict=True):
            scan.absorb(batch, output)
        progress("scanning training corpus", batch.start + len(batch), total)

    in_flight: deque = deque()
    for corpus_batch in train.batches(batch_size):
        batch = TrainBatch(corpus_batch, fingerprint, total, features)
        in_flight.append((batch, submit(corpus_batch, batch)))
        if len(in_flight) > window:
            absorb(*in_flight.popleft())
    while in_flight:
        absorb(*in_flight.popleft())
