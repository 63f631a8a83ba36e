"""Terminal view of a run report: the verdict, the attribution, then overlap and shift."""

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from auditor.attribution import MODELS, Estimate
from auditor.corpus import Corpus
from auditor.render.overlap import render_overlap
from auditor.render.shift import render_shift
from auditor.run import RunReport

_BAR = 30


def _estimate(estimate: Estimate) -> str:
    if estimate.value is None:
        return "—"
    if estimate.low is None:
        return f"{estimate.value:.1%}"
    return f"{estimate.value:.1%} [{estimate.low:.1%}, {estimate.high:.1%}]"


def _bar(share: float) -> Text:
    filled = max(0, min(_BAR, round(abs(share) * _BAR)))
    return Text("█" * filled, style="red" if share < 0 else "cyan")


def render_run(report: RunReport, bench: Corpus, train: Corpus, console: Console) -> None:
    attribution = report.attribution
    title = Text(f"{report.config['model']} on {report.config['bench']}")
    console.print(Panel("\n".join(attribution.verdict), title=title, title_align="left"))
    level = f"{attribution.confidence:.0%}"
    models = Table(title=f"Accuracy ({level} bootstrap intervals, chance {attribution.chance:.1%})")
    for column in ("model", "all items", "clean items", "overlapping items"):
        models.add_column(column, justify="left" if column == "model" else "right")
    names = {
        "candidate": Text(f"candidate ({report.candidate.model})"),
        "scratch": Text("scratch control"),
        "pretrained": Text("pretrained control"),
    }
    for name in MODELS:
        cells = (attribution.accuracy, attribution.clean, attribution.flagged)
        models.add_row(names[name], *(_estimate(cell[name]) for cell in cells))
    console.print(models)
    console.print(Text(f"candidate: {report.candidate.how}", style="dim"))
    if attribution.shares is not None:
        shares = Table(title="Where the accuracy above chance comes from")
        shares.add_column("share")
        shares.add_column("value", justify="right")
        shares.add_column("", min_width=_BAR)
        for name, estimate in attribution.shares.items():
            shares.add_row(name, _estimate(estimate), _bar(estimate.value))
        console.print(shares)
    quintiles = attribution.typicality_quintiles
    if quintiles["scratch"]:
        strata = Table(title="Accuracy by typicality quintile (1 = least typical)")
        strata.add_column("model")
        for q in range(1, 6):
            strata.add_column(str(q), justify="right")
        for name in MODELS:
            strata.add_row(names[name], *(_estimate(e).split(" [")[0] for e in quintiles[name]))
        console.print(strata)
    render_overlap(report.overlap, bench, train, console, top=0)
    render_shift(report.shift, bench, console, top=0)
