"""The overlap audit: the overlap probes in one pass of the training corpus (`auditor.scan`),
assembled into the `OverlapReport` of DESIGN.md's overlap contract."""

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from auditor import __version__
from auditor.corpus import Corpus
from auditor.embeddings import Encoder
from auditor.scan import DEFAULT_BATCH_SIZE, Progress, run_probes
from probes import OVERLAP_PROBES, PROBES
from probes.base import Probe, ProbeResult

SCHEMA_VERSION = 1


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
    on_progress: Progress | None = None,
) -> OverlapReport:
    """Run the overlap probes (default: all of them) in one pass and assemble the report."""
    probes = list(probes) if probes is not None else build_probes(OVERLAP_PROBES)
    results = run_probes(
        train, bench, probes, encoder=encoder, batch_size=batch_size, on_progress=on_progress
    )
    return assemble(train, bench, results)


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
