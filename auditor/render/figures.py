"""The HTML page's plots: each `Figure` kind drawn by matplotlib into an inline SVG string."""

import io
from collections.abc import Callable

import numpy as np

from auditor.render.run import MODELS
from auditor.render.sections import BOUND_SIGNS, Figure

_COLOURS = {"candidate": "#1f77b4", "scratch": "#d62728", "selfpretrained": "#ff7f0e",
            "pretrained": "#2ca02c"}  # fmt: skip
_SHARE_COLOURS = {"fitting": "#d62728", "transfer": "#2ca02c", "training_text": "#ff7f0e",
                  "external_transfer": "#98df8a", "residual": "#7f7f7f"}  # fmt: skip
_LINE = {  # the candidate dashed on top: it often coincides with the pretrained control
    name: {
        "color": colour,
        "marker": "o",
        "linestyle": "--" if name == "candidate" else "-",
        "zorder": 3 if name == "candidate" else 2,
    }
    for name, colour in _COLOURS.items()
}


def _svg(figure) -> str:
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _shares(ax, data: dict) -> None:
    names = list(data)
    values = [data[n]["value"] for n in names]
    errors = [
        [
            v - (data[n]["low"] if data[n]["low"] is not None else v)
            for n, v in zip(names, values, strict=True)
        ],
        [
            (data[n]["high"] if data[n]["high"] is not None else v) - v
            for n, v in zip(names, values, strict=True)
        ],
    ]
    # a bound (a control had not converged) is labelled with its sign, as the tables print it
    labels = [f"{BOUND_SIGNS.get(data[n].get('bound'), '')}{n.replace('_', ' ')}" for n in names]
    colours = [_SHARE_COLOURS.get(n, "#7f7f7f") for n in names]
    ax.barh(labels, values, xerr=errors, color=colours, capsize=4)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("share of accuracy above chance")


def _quintiles(ax, data: dict) -> None:
    for name in (m for m in MODELS if m in data):
        values = [np.nan if v is None else v for v in data[name]]
        ax.plot(range(1, 6), values, label=name, **_LINE[name])
    ax.axhline(data["chance"], color="gray", linestyle=":", label="chance")
    ax.set_xticks(range(1, 6))
    ax.set_xlabel("typicality quintile (1 = least typical)")
    ax.set_ylabel("accuracy")
    ax.legend(fontsize=8)


def _histogram(ax, data: dict) -> None:
    ax.hist(data["scores"], bins=40, color="#1f77b4")
    if data["threshold"] is not None:
        ax.axvline(
            data["threshold"],
            color="#d62728",
            linestyle="--",
            label=f"flag threshold {data['threshold']}",
        )
        ax.legend(fontsize=8)
    label = data.get("label") or f"similarity to the nearest training item ({data['probe']})"
    ax.set_xlabel(label)
    ax.set_ylabel("benchmark items")


def _strata(ax, data: dict) -> None:
    scores = np.asarray(data["scores"])
    bins = np.searchsorted(np.quantile(scores, [0.2, 0.4, 0.6, 0.8]), scores, side="right")
    for name in (m for m in MODELS if m in data["correct"]):
        correct = np.asarray(data["correct"][name])
        means = [correct[bins == b].mean() if (bins == b).any() else np.nan for b in range(5)]
        ax.plot(range(1, 6), means, label=name, **_LINE[name])
    ax.set_xticks(range(1, 6))
    ax.set_xlabel("overlap quintile (1 = least similar to training)")
    ax.set_ylabel("accuracy")
    ax.legend(fontsize=8)


DRAWINGS: dict[str, tuple[tuple[float, float], Callable]] = {
    "shares": ((5.5, 2.2), _shares),
    "quintiles": ((5.5, 3), _quintiles),
    "histogram": ((5.5, 3), _histogram),
    "strata": ((5.5, 3), _strata),
}
"""Figure kind -> (size in inches, drawing function)."""


def draw(figure: Figure) -> str:
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"
    import matplotlib.pyplot as plt

    size, drawing = DRAWINGS[figure.kind]
    fig, ax = plt.subplots(figsize=size)
    drawing(ax, figure.data)
    return _svg(fig)
