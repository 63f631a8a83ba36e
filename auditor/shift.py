"""The shift audit: is the benchmark drawn from the training distribution, and which of its items
are typical of it? The shift probes in one pass of the training corpus (`auditor.scan`),
assembled into the shift report, with a Holm-corrected overall verdict; each test's verdict in
words comes from its probe (`Probe.explain`).
"""

from collections.abc import Sequence

from auditor.corpus import Corpus
from auditor.excerpt import excerpt
from auditor.overlap import provided
from auditor.report import CorpusInfo, ShiftItem, ShiftReport, ShiftSummary, TestSummary
from auditor.scan import DEFAULT_BATCH_SIZE, Engine, Progress, run_probes
from probes import build_probes, probes_of_kind
from probes.base import FitContext, Probe, ProbeResult

KINDS = ("shift",)
DEFAULT_ALPHA = 0.05
TEXTS_KEPT = 20
"""The least typical items whose text the report carries (what the renderers list)."""


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
    context: FitContext | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_progress: Progress | None = None,
    engine: Engine | None = None,
) -> ShiftReport:
    """Run the shift probes (default: every registered one) in one pass on `engine` (default:
    this machine); the report."""
    probes = list(probes) if probes is not None else build_probes(probes_of_kind(*KINDS))
    results = run_probes(
        train, bench, probes, context=context, batch_size=batch_size, on_progress=on_progress,
        engine=engine,
    )  # fmt: skip
    return assemble(train, bench, probes, results, alpha)


def assemble(
    train: Corpus,
    bench: Corpus,
    probes: Sequence[Probe],
    results: Sequence[ProbeResult],
    alpha: float,
) -> ShiftReport:
    by_name = {probe.name: probe for probe in probes}
    p_values = {r.probe: r.test.p_value for r in results if r.test and r.test.p_value is not None}
    adjusted = holm(p_values)
    tests = {}
    for result in results:
        test = result.test
        if test is None:
            continue
        rejected = adjusted[result.probe] <= alpha if result.probe in adjusted else None
        tests[result.probe] = TestSummary(
            params=result.params,
            method=result.method,
            statistic=test.statistic,
            statistic_label=by_name[result.probe].statistic_label,
            p_value=test.p_value,
            p_value_floor=test.p_value_floor,
            at_floor=test.at_floor,
            skipped=test.skipped,
            verdict=by_name[result.probe].explain(test, rejected),
            details=test.details,
        )
    measures = provided(probes)
    scored = {result.probe: result.items for result in results if result.items}
    items = [
        ShiftItem(index=index, scores={name: rows[index].score for name, rows in scored.items()})
        for index in range(len(bench))
    ]
    measure = measures.get("in_distribution")
    if measure in scored:
        least = sorted(items, key=lambda item: (item.scores[measure], item.index))[:TEXTS_KEPT]
        texts = bench.texts_at([item.index for item in least])
        for item in least:
            item.text = excerpt(texts[item.index])
    return ShiftReport(
        train=CorpusInfo(**train.describe()),
        bench=CorpusInfo(**bench.describe()),
        tests=tests,
        provides=measures,
        summary=ShiftSummary(
            shifted=any(p <= alpha for p in adjusted.values()),
            alpha=alpha,
            holm_p_values=adjusted,
        ),
        items=items,
    )
