"""What a membership report shows: each model probe's flags and how they were set, the rewrite
test, and the flagged items with their texts."""

from auditor.render.sections import (
    TOP,
    Figure,
    Marked,
    Paragraph,
    Section,
    Table,
    bounded_p_value,
    number,
)
from auditor.report import MembershipReport


def membership_sections(report: MembershipReport, top: int = TOP) -> list[Section]:
    rows = []
    for name, probe in report.probes.items():
        flagged = "no flags" if probe.flagged is None else f"{probe.flagged} ({probe.fraction:.1%})"
        test = probe.test
        tested = "—"
        if test is not None:
            tested = test.verdict if test.skipped else (
                f"p = {bounded_p_value(test, test.p_value)}: {test.verdict}")  # fmt: skip
        rows.append([name, flagged, number(probe.threshold, 4), probe.null or "—",
                     number(probe.auroc_vs_overlap), tested])  # fmt: skip
    reference = (f" against reference {report.reference} ({report.reference_how})"
                 if report.reference else ", no reference model")  # fmt: skip
    table = Table(
        header=["probe", "flagged", "threshold", "null", "AUROC vs overlap", "set-level test"],
        rows=rows,
        title=f"Membership: {report.model} on {report.bench.source}{reference}",
        left=frozenset({0, 3, 5}),
    )  # fmt: skip
    summary = report.summary
    if summary.flagged is None:
        lead, words = "Not flagged:", summary.note
    else:
        lead = f"{summary.flagged} of {len(report.items)} items ({summary.fraction:.1%}) flagged:"
        words = summary.note
    section = Section("Membership", [table, Paragraph(words, lead=lead)])
    scores = [item.score for item in report.items if item.score is not None]
    if scores:
        threshold = report.probes[summary.probe].threshold
        section.blocks.append(Figure(
            "histogram",
            {"scores": scores, "threshold": None if threshold is None else round(threshold, 4),
             "probe": summary.probe, "label": f"{summary.probe} score (higher = more likely seen)"},
            f"Each item's {summary.probe} score under {report.model}, with the flag threshold",
        ))  # fmt: skip
    scores = "; ".join(f"{name}: {p.score}" for name, p in report.probes.items())
    section.blocks.append(Paragraph(f"{scores}. Higher = more likely seen.", lead="Scores.",
                                    small=True))  # fmt: skip
    if report.not_in_training:
        section.blocks.append(Paragraph(
            f"{len(report.not_in_training)} item(s) flagged by the model probes and by no "
            "overlap probe: seen by the model, not found in the declared training data.",
            lead="Undeclared:",
        ))  # fmt: skip
    flagged = [item for item in report.items if item.flagged]
    if top > 0 and flagged:
        shown = sorted(flagged, key=lambda item: -(item.score or 0.0))[:top]
        searched = report.not_in_training is not None
        undeclared = set(report.not_in_training or [])
        header = ["#", summary.probe, *(["in training data"] if searched else []), "text"]
        rows = [[str(i.index), number(i.score, 4),
                 *([("not found" if i.index in undeclared else "found")] if searched else []),
                 Marked(i.text or "")] for i in shown]  # fmt: skip
        section.blocks.append(Table(
            header=header, rows=rows,
            title=f"Items the model probes flag ({len(shown)} of {len(flagged)})",
            left=frozenset({len(header) - 2, len(header) - 1} if searched else {2}),
        ))  # fmt: skip
    return [section]
