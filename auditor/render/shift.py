"""Terminal view of a shift report: the tests with a plain-words verdict, then the least typical
benchmark items."""

from rich.console import Console
from rich.table import Table
from rich.text import Text

from auditor.corpus import Corpus
from auditor.shift import ShiftReport


def _number(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "—"
    if value == 0:
        return "0"
    return f"{value:.1e}" if abs(value) < 10**-digits else f"{value:.{digits}f}"


def _p(value: float | None) -> str:
    """p-values: tiny ones in scientific notation; an underflow to 0 as a bound."""
    if value is None:
        return "—"
    return "<1e-300" if value == 0 else _number(value)


def _verdict(name: str, test: dict, rejected: bool | None) -> str:
    """What the test says, in words, from its own numbers."""
    if test.get("skipped"):
        return f"skipped: {test['skipped']}"
    differ = "differ" if rejected else "look alike"
    if name == "mmd":
        return f"embedding distributions {differ}"
    if name == "c2st":
        auc = test["auc"]
        how = "separates them" if rejected else "cannot tell them apart"
        return f"a classifier {how} (AUC {auc:.2f})"
    if name == "typicality":
        return f"{test['coverage']:.0%} of benchmark items inside the training kNN radius"
    if name == "labels":
        return f"label shares {differ} (total variation {test['total_variation']:.2f})"
    if name == "lexical":
        return (
            f"lengths {differ} (mean {test['bench_mean_length']:.1f} vs "
            f"{test['train_mean_length']:.1f} words); {test['oov_rate']:.1%} of benchmark words "
            "unseen in training"
        )
    return differ


def _statistic(name: str, test: dict) -> str:
    key = {"c2st": "drift_score", "typicality": "coverage"}.get(name, "statistic")
    label = {"c2st": "drift ", "typicality": "coverage "}.get(name, "")
    return f"{label}{_number(test.get(key))}"


def render_shift(report: ShiftReport, bench: Corpus, console: Console, top: int = 10) -> None:
    summary = report.summary
    table = Table(title=Text(f"Shift: {report.bench.source} against {report.train.source}"))
    for column in ("test", "statistic", "p-value", "Holm p"):
        table.add_column(column, justify="left" if column == "test" else "right")
    table.add_column("verdict", ratio=1)
    for name, test in report.tests.items():
        holm = summary.holm_p_values.get(name)
        rejected = None if holm is None else holm <= summary.alpha
        table.add_row(name, _statistic(name, test), _p(test.get("p_value")), _p(holm),
                      _verdict(name, test, rejected))  # fmt: skip
    console.print(table)
    if summary.shifted:
        failed = [name for name, p in summary.holm_p_values.items() if p <= summary.alpha]
        console.print(
            f"[bold]Shifted:[/bold] the benchmark does not look drawn from the training "
            f"distribution ({', '.join(failed)} reject at Holm-corrected α = {summary.alpha})."
        )
    else:
        console.print(
            f"[bold]No detectable shift[/bold] at Holm-corrected α = {summary.alpha} "
            f"({len(summary.holm_p_values)} tests)."
        )
    scored = [item for item in report.items if item.typicality is not None]
    if top <= 0 or not scored:
        return
    least = sorted(scored, key=lambda item: (item.typicality, item.index))[:top]
    items = Table(title=f"Least typical benchmark items ({len(least)} of {len(scored)})")
    items.add_column("#", justify="right")
    items.add_column("typicality", justify="right")
    items.add_column("c2st prob", justify="right")
    items.add_column("text", ratio=1, overflow="fold")
    texts = bench.texts
    for item in least:
        text = texts[item.index]
        items.add_row(str(item.index), f"{item.typicality:.4f}", _number(item.c2st_prob, 2),
                      Text(text if len(text) <= 200 else text[:200] + "…"))  # fmt: skip
    console.print(items)
