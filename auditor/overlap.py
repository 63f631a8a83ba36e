"""The overlap audit: the overlap probes in one pass of the training corpus (`auditor.scan`),
assembled into the `OverlapReport` of DESIGN.md's overlap contract.

The report carries its own evidence: each flagged item's text and, for each probe that flagged
it, the matched training text, both trimmed around the shared span (`auditor.excerpt`), so a saved
report renders without the corpora.
"""

from collections.abc import Sequence

from auditor.calibration import DEFAULT_FPR, calibrate, null_context
from auditor.corpus import Corpus
from auditor.excerpt import excerpt
from auditor.report import (
    CalibrationInfo,
    CorpusInfo,
    ItemProbe,
    MatchInfo,
    OverlapItem,
    OverlapReport,
    ProbeSummary,
    Summary,
)
from auditor.scan import DEFAULT_BATCH_SIZE, Engine, Progress, run_probes
from probes import build_probes, probes_of_kind
from probes.base import FitContext, Probe, ProbeResult
from probes.null import DEFAULT_SIZE as DEFAULT_NULL_SIZE
from probes.null import NullSample

KINDS = ("overlap",)


def run_overlap(
    train: Corpus,
    bench: Corpus,
    probes: Sequence[Probe] | None = None,
    *,
    context: FitContext | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_progress: Progress | None = None,
    fpr: float = DEFAULT_FPR,
    null_size: int = DEFAULT_NULL_SIZE,
    seed: int = 0,
    engine: Engine | None = None,
) -> OverlapReport:
    """Run the overlap probes (default: every registered one) in one pass on `engine` (default:
    this machine); the report, with the calibrated probes' thresholds set at false-positive rate
    `fpr` (0: their fixed thresholds)."""
    probes = list(probes) if probes is not None else build_probes(probes_of_kind(*KINDS))
    context = null_context(train, bench, probes, context or FitContext(), fpr=fpr,
                           size=null_size, seed=seed)  # fmt: skip
    results = run_probes(
        train, bench, probes, context=context, batch_size=batch_size, on_progress=on_progress,
        engine=engine,
    )  # fmt: skip
    return assemble(train, bench, probes, results, null=context.null, fpr=fpr)


def provided(probes: Sequence[Probe]) -> dict[str, str]:
    """Measure -> the first probe that provides it (`Probe.provides`)."""
    measures: dict[str, str] = {}
    for probe in probes:
        for measure in sorted(probe.provides):
            measures.setdefault(measure, probe.name)
    return measures


def assemble(
    train: Corpus,
    bench: Corpus,
    probes: Sequence[Probe],
    results: Sequence[ProbeResult],
    *,
    null: NullSample | None = None,
    fpr: float = DEFAULT_FPR,
) -> OverlapReport:
    """Per-item union verdict (calibrated at `fpr` when the pass scored a null sample),
    evidence texts of flagged items, per-probe summaries."""
    calibration: CalibrationInfo | None = None
    if null is not None:
        results, calibration = calibrate(list(results), null, fpr)
    ids = bench.ids
    notable = {probe.name: probe.notable for probe in probes}

    def shown(result: ProbeResult, index: int) -> bool:
        """Flagged, or notable partial overlap: evidence the report carries the texts of."""
        item, above = result.items[index], notable.get(result.probe)
        return item.flagged or (above is not None and item.score > above)

    shown_rows = [i for i in range(len(ids)) if any(shown(r, i) for r in results)]
    bench_texts = bench.texts_at(shown_rows)
    matched = [
        r.items[i].match.train_index
        for i in shown_rows
        for r in results
        if shown(r, i) and r.items[i].match is not None
    ]
    train_texts = train.texts_at(matched)
    items = []
    for index, row_id in enumerate(ids):
        per_probe, span, evidence = {}, None, False
        for result in results:
            item = result.items[index]
            match = None
            if item.match is not None:
                match = MatchInfo(**item.match.to_dict())
                if shown(result, index):
                    match.train_text = excerpt(train_texts[match.train_index], match.span)
                    span = span or match.span
            evidence = evidence or shown(result, index)
            per_probe[result.probe] = ItemProbe(score=item.score, flagged=item.flagged, match=match)
        flagged = any(p.flagged for p in per_probe.values())
        text = excerpt(bench_texts[index], span) if evidence else None
        items.append(
            OverlapItem(index=index, id=row_id, flagged=flagged, text=text, probes=per_probe)
        )
    flagged = sum(item.flagged for item in items)
    return OverlapReport(
        train=CorpusInfo(**train.describe()),
        bench=CorpusInfo(**bench.describe()),
        probes={
            result.probe: ProbeSummary(
                kind=result.kind,
                params=result.params,
                method=result.method,
                threshold=result.threshold,
                estimated_fpr=calibration.probe_fpr.get(result.probe) if calibration else None,
                notable=notable.get(result.probe),
                flagged=result.flagged,
                fraction=result.fraction,
                info=result.info,
            )
            for result in results
        },
        provides=provided(probes),
        calibration=calibration,
        summary=Summary(flagged=flagged, fraction=flagged / len(items) if items else 0.0),
        items=items,
    )
