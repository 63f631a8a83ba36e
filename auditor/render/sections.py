"""What a report shows, once, for every format: sections of tables, paragraphs and figures.

Each report kind becomes a list of `Section`s built from the report alone; the terminal,
Markdown and HTML renderers only lay those out (`auditor.render.terminal`, `.markdown`,
`.html`), so the three formats cannot disagree on a number or a rounding. Figures are drawn by
the HTML renderer only; the other formats show the same numbers as tables.
"""

from dataclasses import dataclass, field

from auditor.report import Estimate, OverlapReport, ShiftReport, TestSummary

TOP = 10
"""Flagged or least typical items listed by default."""


@dataclass(frozen=True)
class Marked:
    """Dataset text, with the span that matched marked where there is one."""

    text: str
    span: str | None = None


@dataclass(frozen=True)
class Bar:
    """A share drawn as a bar (terminal, Markdown) beside its number."""

    value: float


Cell = str | Marked | Bar


@dataclass
class Table:
    header: list[str]
    rows: list[list[Cell]]
    title: str = ""
    left: frozenset[int] = frozenset({0})
    """Left-aligned columns (labels and text); the others hold numbers."""
    footer: list[Cell] | None = None
    """A closing row set apart (totals)."""


@dataclass
class Paragraph:
    text: str
    lead: str = ""
    """A bold opening word or two ("Shifted:")."""
    small: bool = False


@dataclass
class Verdict:
    title: str
    lines: list[str]


@dataclass
class Figure:
    """A plot for the HTML page: `kind` names the drawing, `data` its numbers."""

    kind: str
    data: dict
    caption: str


Block = Table | Paragraph | Verdict | Figure


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)


def number(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "—"
    if value == 0:
        return "0"
    return f"{value:.1e}" if abs(value) < 10**-digits else f"{value:.{digits}f}"


def p_value(value: float | None) -> str:
    """p-values: tiny ones in scientific notation; an underflow to 0 as a bound."""
    if value is None:
        return "—"
    return "<1e-300" if value == 0 else number(value)


BOUND_SIGNS = {"lower": "≥ ", "upper": "≤ ", "unknown": "~ "}


def bounded_p_value(test: TestSummary, value: float | None) -> str:
    """A test's p-value (or its Holm adjustment): at the permutation floor it is a bound, so it
    reads "≤ 0.005 (200 permutations)", never "0.005" as if measured."""
    if value is None or not test.at_floor or test.p_value_floor is None:
        return p_value(value)
    permutations = round(1 / test.p_value_floor) - 1
    return f"≤ {number(value)} ({permutations:,} permutations)"


def estimate(value: Estimate, interval: bool = True) -> str:
    """A percentage with its interval; a bound (a control had not converged) says so: ≥ or ≤."""
    if value.value is None:
        return "—"
    sign = BOUND_SIGNS.get(value.bound, "")
    if not interval:
        return f"{sign}{value.value:.1%}"
    if value.low is None:  # too few items for a bootstrap interval
        return f"{sign}{value.value:.1%} ({value.items} items, no interval)"
    return f"{sign}{value.value:.1%} [{value.low:.1%}, {value.high:.1%}]"


def trained_on(items: int, convergence: dict) -> str:
    """How many items a control trained on, and of how many when it saw a sample."""
    sample = convergence.get("sample")
    return f"{items:,} (sample of {sample['of']:,})" if sample else f"{items:,}"


def converged(convergence: dict) -> str:
    """A control's convergence in a few words."""
    if not convergence:
        return "—"
    last = convergence["runs"][-1] if convergence.get("runs") else {}
    where = f": best at step {last['best_step']} of {last['steps']}" if last else ""
    return f"yes{where}" if convergence["converged"] else f"no{where}, still improving"


# -- overlap ---------------------------------------------------------------------------------


def overlap_sections(report: OverlapReport, top: int = TOP) -> list[Section]:
    table = Table(
        header=["probe", "flagged", "fraction", "threshold", "null rate", "parameters"],
        rows=[
            [name, str(p.flagged), f"{p.fraction:.1%}", _threshold(report, name, p),
             "—" if p.estimated_fpr is None else f"{p.estimated_fpr:.1%}", p.method]
            for name, p in report.probes.items()
        ],
        title=f"Overlap: {report.bench.source} against {report.train.source}",
        left=frozenset({0, 5}),
        footer=[
            "any probe",
            str(report.summary.flagged),
            f"{report.summary.fraction:.1%}",
            "",
            "—" if report.calibration is None else f"{report.calibration.estimated_fpr:.1%}",
            f"{report.bench.items:,} benchmark items, {report.train.items:,} training items",
        ],
    )
    section = Section("Overlap", [table, Paragraph(_calibration_note(report))])
    if top > 0:
        section.blocks.append(_evidence(report, top))
        partial = _partial(report, top)
        if partial is not None:
            section.blocks.append(partial)
    return [section]


def _partial(report: OverlapReport, top: int) -> Block | None:
    """Unflagged items that a probe still marks as sharing text with training (`notable`)."""
    rows = []
    for item in report.items:
        if item.flagged:
            continue
        hits = {
            name: p for name, p in item.probes.items()
            if report.probes[name].notable is not None and p.score > report.probes[name].notable
        }  # fmt: skip
        if not hits:
            continue
        best = max(hits.values(), key=lambda p: p.score)
        span = best.match.span if best.match else None
        matched = best.match.train_text if best.match else None
        rows.append((best.score, [
            f"#{item.index} {item.id}",
            ", ".join(f"{name} {p.score:.2f}" for name, p in hits.items()),
            Marked(item.text or "", span),
            Marked(f"training item {best.match.train_index}: {matched}" if matched else "—", span),
        ]))  # fmt: skip
    if not rows:
        return None
    rows.sort(key=lambda row: -row[0])
    return Table(
        header=["item", "probes", "benchmark item", "training item sharing text"],
        rows=[row for _, row in rows[:top]],
        title=f"Partial overlap, not flagged ({min(top, len(rows))} of {len(rows)}): items that "
        "share text with training below every flag threshold",
        left=frozenset({0, 1, 2, 3}),
    )


def _threshold(report: OverlapReport, name: str, probe) -> str:
    calibrated = report.calibration is not None and name in report.calibration.thresholds
    if calibrated and (probe.threshold is None or probe.threshold >= 1):
        return "none alone"  # scores lie in [0, 1]: only the combined test flags
    if probe.threshold is None:
        return "—"
    return f"> {probe.threshold:.3g} alone" if calibrated else f"≥ {probe.threshold:.3g}"


def _calibration_note(report: OverlapReport) -> str:
    calibration = report.calibration
    if calibration is None:
        return ("Thresholds are the probes' fixed defaults (no null sample was scored: --fpr 0, "
                "or no probe calibrates); their false-positive rate on this corpus is not "
                "estimated.")  # fmt: skip
    dropped = f"; {calibration.dropped} openings of duplicated documents left out"
    return (f"Calibrated at a target false-positive rate of {calibration.fpr:.1%}: "
            f"{calibration.method} (seed {calibration.seed}{dropped}). Estimated rate of the "
            f"combined verdict on distinct documents: {calibration.estimated_fpr:.1%}; the "
            "null-rate column is each calibrated probe's rate alone. Probes without a null rate "
            "flag at their fixed thresholds.")  # fmt: skip


def _evidence(report: OverlapReport, top: int) -> Block:
    flagged = [item for item in report.items if item.flagged]
    if not flagged:
        return Paragraph("No benchmark item was flagged by any probe.")
    flagged.sort(
        key=lambda item: (
            -sum(p.flagged for p in item.probes.values()),
            -max(p.score for p in item.probes.values()),
            item.index,
        )
    )
    rows = []
    for item in flagged[:top]:
        hits = {name: p for name, p in item.probes.items() if p.flagged}
        best = max(hits.values(), key=lambda p: p.score)
        span = next((p.match.span for p in hits.values() if p.match and p.match.span), None)
        matched = best.match.train_text if best.match else None
        where = (
            f"training item {best.match.train_index} ({best.match.train_id})" if best.match else ""
        )
        rows.append(
            [
                f"#{item.index} {item.id}",
                ", ".join(f"{name} {p.score:.2f}" for name, p in hits.items()),
                Marked(item.text or "", span),
                Marked(f"{where}: {matched}" if matched else "—", span),
            ]
        )
    return Table(
        header=["item", "probes", "benchmark item", "matched training item"],
        rows=rows,
        title=f"Most-flagged benchmark items ({len(rows)} of {len(flagged)})",
        left=frozenset({0, 1, 2, 3}),
    )


# -- shift -----------------------------------------------------------------------------------


def shift_sections(report: ShiftReport, top: int = TOP) -> list[Section]:
    summary = report.summary
    rows = []
    for name, test in report.tests.items():
        label = f"{test.statistic_label} " if test.statistic_label else ""
        statistic = "—" if test.statistic is None else f"{label}{number(test.statistic)}"
        holm = summary.holm_p_values.get(name)
        p, adjusted = bounded_p_value(test, test.p_value), bounded_p_value(test, holm)
        rows.append([name, statistic, p, adjusted, test.verdict])
    table = Table(
        header=["test", "statistic", "p-value", "Holm p", "verdict"],
        rows=rows,
        title=f"Shift: {report.bench.source} against {report.train.source}",
        left=frozenset({0, 4}),
    )
    if summary.shifted:
        failed = [name for name, p in summary.holm_p_values.items() if p <= summary.alpha]
        verdict = Paragraph(
            "the benchmark does not look drawn from the training distribution "
            f"({', '.join(failed)} reject at Holm-corrected α = {summary.alpha}).",
            lead="Shifted:",
        )
    elif summary.holm_p_values:
        verdict = Paragraph(
            f"at Holm-corrected α = {summary.alpha} ({len(summary.holm_p_values)} tests).",
            lead="No detectable shift",
        )
    else:
        verdict = Paragraph("no test produced a p-value, so there is no verdict.", lead="No test:")
    section = Section("Shift", [table, verdict])
    measure = report.provides.get("in_distribution")
    shown = [item for item in report.items if item.text is not None and measure in item.scores]
    if top > 0 and shown:
        least = sorted(shown, key=lambda item: (item.scores[measure], item.index))[:top]
        names = [measure, *(name for name in least[0].scores if name != measure)]
        section.blocks.append(
            Table(
                header=["#", *names, "text"],
                rows=[
                    [str(i.index), *(number(i.scores[n], 4) for n in names), Marked(i.text or "")]
                    for i in least
                ],
                title=f"Least typical benchmark items ({len(least)} of {len(report.items)})",
                left=frozenset({len(names) + 1}),
            )
        )
    return [section]
