"""The shift audit: is the benchmark drawn from the training distribution, and which of its items
are typical of it? The shift probes in one pass of the training corpus (`auditor.scan`),
assembled into the shift report, with a Holm-corrected overall verdict.
"""

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from auditor import __version__
from auditor.corpus import Corpus
from auditor.embeddings import Encoder
from auditor.overlap import CorpusInfo, build_probes
from auditor.scan import DEFAULT_BATCH_SIZE, Progress, run_probes
from probes import SHIFT_PROBES
from probes.base import Probe, ProbeResult

SCHEMA_VERSION = 1
DEFAULT_ALPHA = 0.05


class ShiftItem(BaseModel):
    index: int
    typicality: float | None = None
    c2st_prob: float | None = None


class ShiftSummary(BaseModel):
    shifted: bool
    alpha: float
    holm_p_values: dict[str, float]
    """Each test's Holm-adjusted p-value (tests without a p-value are left out)."""


class ShiftReport(BaseModel):
    """The shift contract (`audit shift --format json`)."""

    schema_version: int = SCHEMA_VERSION
    tool: dict[str, str] = {"name": "audit", "version": __version__}
    train: CorpusInfo
    bench: CorpusInfo
    tests: dict[str, dict[str, Any]]
    summary: ShiftSummary
    items: list[ShiftItem]


def holm(p_values: dict[str, float]) -> dict[str, float]:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1)."""
    ordered = sorted(p_values.items(), key=lambda pair: pair[1])
    adjusted, running = {}, 0.0
    for rank, (name, p) in enumerate(ordered):
        running = max(running, min(1.0, (len(ordered) - rank) * p))
        adjusted[name] = running
    return {name: adjusted[name] for name in p_values}


def run_shift(
    train: Corpus,
    bench: Corpus,
    probes: Sequence[Probe] | None = None,
    *,
    alpha: float = DEFAULT_ALPHA,
    encoder: Encoder | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_progress: Progress | None = None,
) -> ShiftReport:
    probes = list(probes) if probes is not None else build_probes(SHIFT_PROBES)
    results = run_probes(
        train, bench, probes, encoder=encoder, batch_size=batch_size, on_progress=on_progress
    )
    return assemble(train, bench, results, alpha)


def assemble(
    train: Corpus, bench: Corpus, results: Sequence[ProbeResult], alpha: float
) -> ShiftReport:
    tests = {result.probe: {**(result.test or {}), "params": result.params} for result in results}
    p_values = {name: t["p_value"] for name, t in tests.items() if t.get("p_value") is not None}
    adjusted = holm(p_values)
    per_item = {result.probe: result.items for result in results if result.items}
    items = [
        ShiftItem(
            index=index,
            typicality=per_item["typicality"][index].score if "typicality" in per_item else None,
            c2st_prob=per_item["c2st"][index].score if "c2st" in per_item else None,
        )
        for index in range(len(bench))
    ]
    return ShiftReport(
        train=CorpusInfo(**train.describe()),
        bench=CorpusInfo(**bench.describe()),
        tests=tests,
        summary=ShiftSummary(
            shifted=any(p <= alpha for p in adjusted.values()),
            alpha=alpha,
            holm_p_values=adjusted,
        ),
        items=items,
    )
