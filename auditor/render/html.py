"""Self-contained HTML view of a run report, with inline SVG plots drawn by matplotlib.

Every dataset string goes through `html.escape` (benchmark and training texts can hold markup);
the plots carry only the report's own labels and numbers. No scripts, no external resources.
"""

import html
import io

import numpy as np

from auditor.attribution import MODELS, Estimate
from auditor.corpus import Corpus
from auditor.run import RunReport

TOP_ITEMS = 30
_COLOURS = {"candidate": "#1f77b4", "scratch": "#d62728", "pretrained": "#2ca02c"}
_LINE = {  # the candidate dashed on top: it often coincides with the pretrained control
    name: {
        "color": colour,
        "marker": "o",
        "linestyle": "--" if name == "candidate" else "-",
        "zorder": 3 if name == "candidate" else 2,
    }
    for name, colour in _COLOURS.items()
}
_STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222;padding:0 1em}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;
text-align:right;vertical-align:top}td.text,th.text{text-align:left;max-width:520px}
.plots{display:flex;flex-wrap:wrap;gap:1em}.plots figure{margin:0;width:520px}
figcaption{font-size:90%;color:#555}.verdict li{margin:.3em 0}mark{background:#fff3a0}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _estimate(value: Estimate) -> str:
    if value.value is None:
        return "—"
    if value.low is None:
        return f"{value.value:.1%}"
    return f"{value.value:.1%} [{value.low:.1%}, {value.high:.1%}]"


def _table(header: list[str], rows: list[list[str]], text_columns: frozenset = frozenset()) -> str:
    """Cells are escaped here: pass raw values."""
    head = "".join(
        f'<th class="{"text" if i in text_columns else ""}">{_e(h)}</th>'
        for i, h in enumerate(header)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{"text" if i in text_columns else ""}">{_e(c)}</td>'
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _svg(figure) -> str:
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _figures(report: RunReport) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"
    import matplotlib.pyplot as plt

    a, figures = report.attribution, []
    if a.shares is not None:
        fig, ax = plt.subplots(figsize=(5.5, 2.2))
        names = list(a.shares)
        values = [a.shares[n].value for n in names]
        errors = [
            [v - (a.shares[n].low or v) for n, v in zip(names, values, strict=True)],
            [(a.shares[n].high or v) - v for n, v in zip(names, values, strict=True)],
        ]
        ax.barh(names, values, xerr=errors, color=["#d62728", "#2ca02c", "#7f7f7f"], capsize=4)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_xlabel("share of accuracy above chance")
        figures.append(
            (
                _svg(fig),
                "Attribution: fitting, transfer and residual shares "
                f"({a.confidence:.0%} intervals)",
            )
        )
    if a.typicality_quintiles["scratch"]:
        fig, ax = plt.subplots(figsize=(5.5, 3))
        for name in MODELS:
            values = [
                q.value if q.value is not None else np.nan for q in a.typicality_quintiles[name]
            ]
            ax.plot(range(1, 6), values, label=name, **_LINE[name])
        ax.axhline(a.chance, color="gray", linestyle=":", label="chance")
        ax.set_xticks(range(1, 6))
        ax.set_xlabel("typicality quintile (1 = least typical)")
        ax.set_ylabel("accuracy")
        ax.legend(fontsize=8)
        figures.append(
            (
                _svg(fig),
                "Accuracy by typicality quintile: distribution fitting shows "
                "as a scratch control that collapses on atypical items",
            )
        )
    similarity = np.array(
        [
            item.probes["embedding"].score
            for item in report.overlap.items
            if "embedding" in item.probes
        ]
    )
    if len(similarity):
        threshold = report.overlap.probes["embedding"].params["threshold"]
        fig, ax = plt.subplots(figsize=(5.5, 3))
        ax.hist(similarity, bins=40, color="#1f77b4")
        ax.axvline(threshold, color="#d62728", linestyle="--", label=f"flag threshold {threshold}")
        ax.set_xlabel("cosine similarity to the nearest training item")
        ax.set_ylabel("benchmark items")
        ax.legend(fontsize=8)
        figures.append(
            (_svg(fig), "Similarity of each benchmark item to its nearest training item")
        )
        edges = np.quantile(similarity, [0.2, 0.4, 0.6, 0.8])
        bins = np.searchsorted(edges, similarity, side="right")
        fig, ax = plt.subplots(figsize=(5.5, 3))
        items = {
            "candidate": report.candidate.items,
            **{k: c.items for k, c in report.controls.items()},
        }
        for name in MODELS:
            correct = np.array([float(i["correct"]) for i in items[name]])
            means = [correct[bins == b].mean() if (bins == b).any() else np.nan for b in range(5)]
            ax.plot(range(1, 6), means, label=name, **_LINE[name])
        ax.set_xticks(range(1, 6))
        ax.set_xlabel("overlap quintile (1 = least similar to training)")
        ax.set_ylabel("accuracy")
        ax.legend(fontsize=8)
        figures.append((_svg(fig), "Accuracy by similarity to the training data"))
    return figures


def render_html(report: RunReport, bench: Corpus, train: Corpus) -> str:
    a, config = report.attribution, report.config
    parts = [
        f"<h1>audit: {_e(config['model'])} on {_e(config['bench'])}</h1>",
        '<ul class="verdict">' + "".join(f"<li>{_e(line)}</li>" for line in a.verdict) + "</ul>",
        f"<p>Candidate: {_e(report.candidate.how)}. Chance accuracy {a.chance:.1%}; "
        f"{a.confidence:.0%} paired bootstrap intervals over {a.bootstrap} resamples.</p>",
    ]
    plots = "".join(
        f"<figure>{svg}<figcaption>{_e(caption)}</figcaption></figure>"
        for svg, caption in _figures(report)
    )
    parts.append(f'<div class="plots">{plots}</div>')
    parts.append("<h2>Accuracy</h2>")
    parts.append(
        _table(
            ["model", "all items", "clean items", "overlapping items"],
            [[n, *(_estimate(p[n]) for p in (a.accuracy, a.clean, a.flagged))] for n in MODELS],
            frozenset({0}),
        )
    )
    if a.shares is not None:
        parts.append("<h2>Attribution</h2>")
        parts.append(
            _table(
                ["share", "value"], [[k, _estimate(v)] for k, v in a.shares.items()], frozenset({0})
            )
        )
    else:
        parts.append(f"<p>Shares undefined: {_e(a.undefined)}.</p>")
    parts.append("<h2>Controls</h2>")
    parts.append(
        _table(
            ["control", "accuracy", "learning rate", "trained on", "validated on"],
            [
                [i, f"{c.accuracy:.1%}", f"{c.learning_rate:g}", c.train_items, c.val_items]
                for i, c in report.controls.items()
            ],
            frozenset({0}),
        )
    )
    overlap = report.overlap
    parts.append("<h2>Overlap</h2>")
    parts.append(
        _table(
            ["probe", "flagged", "fraction"],
            [[n, p.flagged, f"{p.fraction:.1%}"] for n, p in overlap.probes.items()]
            + [["any probe", overlap.summary.flagged, f"{overlap.summary.fraction:.1%}"]],
            frozenset({0}),
        )
    )
    flagged = [item for item in overlap.items if item.flagged][:TOP_ITEMS]
    if flagged:
        bench_texts, train_texts = bench.texts, train.texts
        rows = []
        for item in flagged:
            hits = {n: p for n, p in item.probes.items() if p.flagged}
            best = max(hits.values(), key=lambda p: p.score)
            matched = train_texts[best.match.train_index] if best.match else ""
            rows.append(
                [
                    item.index,
                    ", ".join(f"{n} {p.score:.2f}" for n, p in hits.items()),
                    bench_texts[item.index][:400],
                    matched[:400],
                ]
            )
        parts.append(f"<p>Flagged items (first {len(flagged)} of {overlap.summary.flagged}):</p>")
        parts.append(
            _table(
                ["#", "probes", "benchmark item", "matched training item"], rows, frozenset({2, 3})
            )
        )
    shift = report.shift
    parts.append("<h2>Shift</h2>")
    rows = [
        [
            name,
            test.get("p_value", "—"),
            shift.summary.holm_p_values.get(name, "—"),
            test.get("skipped", ""),
        ]
        for name, test in shift.tests.items()
    ]
    parts.append(_table(["test", "p-value", "Holm p", "note"], rows, frozenset({0, 3})))
    verdict = "shifted" if shift.summary.shifted else "no detectable shift"
    parts.append(f"<p>Verdict at Holm-corrected α = {shift.summary.alpha}: {_e(verdict)}.</p>")
    p = report.provenance
    parts.append(
        f"<p><small>audit {_e(p['version'])} ({_e(p.get('git') or 'no git')}), "
        f"{_e(p['date'])}, torch {_e(p['torch'])}, transformers "
        f"{_e(p['transformers'])}</small></p>"
    )
    title = _e(f"audit: {config['model']} on {config['bench']}")
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{_STYLE}</style></head><body>{''.join(parts)}</body></html>"
    )
