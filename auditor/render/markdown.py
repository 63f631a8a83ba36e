"""Markdown view of a run report, sized for a GitHub step summary (well under 1 MiB).

Dataset text is escaped for Markdown tables (pipes, backticks, angle brackets, newlines) and only
the 20 most-flagged items are listed.
"""

from auditor.attribution import MODELS, Estimate
from auditor.corpus import Corpus
from auditor.run import RunReport

TOP_ITEMS = 20
_ESCAPES = str.maketrans(
    {
        "|": "\\|",
        "`": "\\`",
        "<": "&lt;",
        ">": "&gt;",
        "*": "\\*",
        "_": "\\_",
        "[": "\\[",
        "]": "\\]",
        "\n": " ",
        "\r": " ",
    }
)


def escape(text: str, limit: int = 200) -> str:
    text = text if len(text) <= limit else text[:limit] + "…"
    return text.translate(_ESCAPES)


def estimate(value: Estimate) -> str:
    if value.value is None:
        return "—"
    if value.low is None:
        return f"{value.value:.1%}"
    return f"{value.value:.1%} [{value.low:.1%}, {value.high:.1%}]"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def render_markdown(report: RunReport, bench: Corpus) -> str:
    a, config = report.attribution, report.config
    out = [f"# audit: {escape(config['model'])} on {escape(config['bench'])}", ""]
    out += [f"- {escape(line, 1000)}" for line in a.verdict] + [""]
    out += [
        f"Candidate: {report.candidate.how}. Chance accuracy {a.chance:.1%}; "
        f"{a.confidence:.0%} paired bootstrap intervals over {a.bootstrap} resamples.",
        "",
    ]
    out += ["## Accuracy", ""]
    rows = [
        [name, *(estimate(part[name]) for part in (a.accuracy, a.clean, a.flagged))]
        for name in MODELS
    ]
    out += table(["model", "all items", "clean items", "overlapping items"], rows) + [""]
    out += ["## Attribution", ""]
    if a.shares is None:
        out += [f"Shares undefined: {a.undefined}.", ""]
    else:
        out += table(["share", "value"], [[k, estimate(v)] for k, v in a.shares.items()]) + [""]
    if a.typicality_quintiles["scratch"]:
        out += ["## Accuracy by typicality quintile (1 = least typical)", ""]
        rows = [
            [
                name,
                *(
                    f"{q.value:.1%}" if q.value is not None else "—"
                    for q in a.typicality_quintiles[name]
                ),
            ]
            for name in MODELS
        ]
        out += table(["model", "1", "2", "3", "4", "5"], rows) + [""]
    out += ["## Controls", ""]
    rows = [
        [
            init,
            f"{c.accuracy:.1%}",
            f"{c.learning_rate:g}",
            f"{c.train_items:,}",
            f"{c.val_items:,}",
        ]
        for init, c in report.controls.items()
    ]
    out += table(["control", "accuracy", "learning rate", "trained on", "validated on"], rows)
    out += ["", f"Budget `{config['budget']}`, {config['seeds']} seed(s).", ""]
    overlap = report.overlap
    out += ["## Overlap", ""]
    rows = [[name, str(p.flagged), f"{p.fraction:.1%}"] for name, p in overlap.probes.items()]
    rows.append(["any probe", str(overlap.summary.flagged), f"{overlap.summary.fraction:.1%}"])
    out += table(["probe", "flagged", "fraction"], rows) + [""]
    flagged = [item for item in overlap.items if item.flagged][:TOP_ITEMS]
    if flagged:
        texts = bench.texts
        rows = [
            [
                str(item.index),
                ", ".join(n for n, p in item.probes.items() if p.flagged),
                escape(texts[item.index]),
            ]
            for item in flagged
        ]
        out += [f"Flagged items (first {len(flagged)} of {overlap.summary.flagged}):", ""]
        out += table(["#", "probes", "benchmark text"], rows) + [""]
    shift = report.shift
    out += ["## Shift", ""]
    rows = []
    for name, test in shift.tests.items():
        holm = shift.summary.holm_p_values.get(name)
        p = test.get("p_value")
        rows.append(
            [
                name,
                "—" if p is None else f"{p:.3g}",
                "—" if holm is None else f"{holm:.3g}",
                escape(str(test.get("skipped", ""))),
            ]
        )
    out += table(["test", "p-value", "Holm p", "note"], rows)
    verdict = "shifted" if shift.summary.shifted else "no detectable shift"
    out += ["", f"Verdict at Holm-corrected α = {shift.summary.alpha}: {verdict}.", ""]
    provenance = report.provenance
    out += [
        f"<sub>audit {provenance['version']} ({provenance.get('git') or 'no git'}), "
        f"{provenance['date']}, torch {provenance['torch']}, transformers "
        f"{provenance['transformers']}</sub>",
        "",
    ]
    return "\n".join(out)
