"""The overlap audit: run the overlap probes over one pass of the training corpus.

The benchmark is indexed by every probe (`fit`); the training corpus is read once, in batches,
and each batch's shared features (word hashes, embeddings) are computed once and handed to every
probe's scan. Worker threads tokenise batches and run the scans' `prepare` step (numpy, which
releases the GIL) on several batches at once; the main thread folds the results in, in order.
The result is the `OverlapReport` of DESIGN.md's overlap contract.
"""

import os
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from pydantic import BaseModel

from auditor import __version__
from auditor.corpus import Corpus
from auditor.embeddings import Encoder
from probes import OVERLAP_PROBES, PROBES
from probes.base import Probe, ProbeResult, TrainBatch

SCHEMA_VERSION = 1
DEFAULT_BATCH_SIZE = 1024
WORKERS = max(1, min(4, os.cpu_count() or 1))


class CorpusInfo(BaseModel):
    source: str
    items: int
    fingerprint: str


class ProbeSummary(BaseModel):
    params: dict[str, Any]
    flagged: int
    fraction: float
    info: dict[str, Any] = {}


class MatchInfo(BaseModel):
    train_index: int
    train_id: str
    span: str | None = None


class ItemProbe(BaseModel):
    score: float
    flagged: bool
    match: MatchInfo | None = None


class OverlapItem(BaseModel):
    index: int
    id: str
    flagged: bool
    probes: dict[str, ItemProbe]


class Summary(BaseModel):
    flagged: int
    fraction: float


class OverlapReport(BaseModel):
    """DESIGN.md's overlap contract (`audit overlap --format json`)."""

    schema_version: int = SCHEMA_VERSION
    tool: dict[str, str] = {"name": "audit", "version": __version__}
    train: CorpusInfo
    bench: CorpusInfo
    probes: dict[str, ProbeSummary]
    summary: Summary
    items: list[OverlapItem]


def build_probes(names: Sequence[str], params: dict[str, dict[str, Any]] | None = None):
    """Instantiate registered probes by name, with per-probe keyword parameters."""
    params = params or {}
    return [PROBES.get(name)(**params.get(name, {})) for name in names]


def run_overlap(
    train: Corpus,
    bench: Corpus,
    probes: Sequence[Probe] | None = None,
    *,
    encoder: Encoder | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> OverlapReport:
    """Fit every probe on `bench`, stream `train` through them once, and assemble the report.

    `on_progress(stage, done, total)` is called as work advances (for progress bars).
    """
    probes = list(probes) if probes is not None else build_probes(OVERLAP_PROBES)
    progress = on_progress or (lambda stage, done, total: None)
    for number, probe in enumerate(probes):
        progress(f"indexing benchmark ({probe.name})", number, len(probes))
        if encoder is not None and "embeddings" in probe.requires:
            probe.fit(bench, encoder=encoder)
        else:
            probe.fit(bench)
    scans = [probe.start_scan() for probe in probes]
    fingerprint = train.fingerprint
    progress("scanning training corpus", 0, len(train))

    def prepare(batch: TrainBatch) -> list:
        return [scan.prepare(batch) for scan in scans]

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        in_flight: deque = deque()
        for corpus_batch in train.batches(batch_size):
            batch = TrainBatch(corpus_batch, fingerprint)
            in_flight.append((batch, pool.submit(prepare, batch)))
            if len(in_flight) > WORKERS:
                _absorb(scans, *in_flight.popleft(), progress, len(train))
        while in_flight:
            _absorb(scans, *in_flight.popleft(), progress, len(train))
    results = [scan.finish() for scan in scans]
    return assemble(train, bench, results)


def _absorb(scans, batch: TrainBatch, prepared: Future, progress, total: int) -> None:
    for scan, output in zip(scans, prepared.result(), strict=True):
        scan.absorb(batch, output)
    progress("scanning training corpus", batch.start + len(batch), total)


def assemble(train: Corpus, bench: Corpus, results: Sequence[ProbeResult]) -> OverlapReport:
    """Per-item union verdict and per-probe summaries, in benchmark order."""
    ids = bench.ids
    items = []
    for index, row_id in enumerate(ids):
        per_probe = {}
        for result in results:
            item = result.items[index]
            match = MatchInfo(**item.match.to_dict()) if item.match else None
            per_probe[result.probe] = ItemProbe(score=item.score, flagged=item.flagged, match=match)
        flagged = any(p.flagged for p in per_probe.values())
        items.append(OverlapItem(index=index, id=row_id, flagged=flagged, probes=per_probe))
    flagged = sum(item.flagged for item in items)
    return OverlapReport(
        train=CorpusInfo(**train.describe()),
        bench=CorpusInfo(**bench.describe()),
        probes={
            result.probe: ProbeSummary(
                params=result.params,
                flagged=result.flagged,
                fraction=result.fraction,
                info=result.info,
            )
            for result in results
        },
        summary=Summary(flagged=flagged, fraction=flagged / len(items) if items else 0.0),
        items=items,
    )
