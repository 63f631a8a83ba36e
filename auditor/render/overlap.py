"""Terminal view of an overlap report: per-probe counts, then the most-flagged items."""

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from auditor.corpus import Corpus
from auditor.overlap import OverlapReport
from auditor.render.highlight import highlighted

_PARAMS_SHOWN = {
    "exact": ("min_words",),
    "ngram": ("dirty", "clean"),
    "minhash": ("threshold", "num_perm", "shingle"),
    "embedding": ("threshold", "model", "k"),
}


def _method(name: str, params: dict, info: dict) -> str:
    shown = [f"{key}={params[key]}" for key in _PARAMS_SHOWN.get(name, params) if key in params]
    if name == "ngram":
        shown.insert(0, f"n={info.get('n')}")
    if name == "minhash":
        shown.append(f"lsh={info.get('bands')}x{info.get('rows')}")
    return ", ".join(shown)


def render_overlap(
    report: OverlapReport, bench: Corpus, train: Corpus, console: Console, top: int = 10
) -> None:
    table = Table(title=Text(f"Overlap: {report.bench.source} against {report.train.source}"))
    table.add_column("probe")
    table.add_column("flagged", justify="right")
    table.add_column("fraction", justify="right")
    table.add_column("parameters")
    for name, probe in report.probes.items():
        table.add_row(
            name,
            str(probe.flagged),
            f"{probe.fraction:.1%}",
            _method(name, probe.params, probe.info),
        )
    table.add_section()
    table.add_row(
        "[bold]any probe[/bold]",
        f"[bold]{report.summary.flagged}[/bold]",
        f"[bold]{report.summary.fraction:.1%}[/bold]",
        f"{report.bench.items:,} benchmark items, {report.train.items:,} training items",
    )
    console.print(table)
    flagged = [item for item in report.items if item.flagged]
    if top <= 0:
        return
    if not flagged:
        console.print("No benchmark item was flagged by any probe.")
        return
    flagged.sort(key=lambda item: (
        -sum(p.flagged for p in item.probes.values()),
        -max(p.score for p in item.probes.values()),
        item.index,
    ))  # fmt: skip
    bench_texts, train_texts = bench.texts, train.texts
    console.print(f"\nMost-flagged benchmark items ({min(top, len(flagged))} of {len(flagged)}):")
    for item in flagged[:top]:
        hits = {name: p for name, p in item.probes.items() if p.flagged}
        best = max(hits.values(), key=lambda p: p.score)
        span = next((p.match.span for p in hits.values() if p.match and p.match.span), None)
        label = ", ".join(f"{name} {p.score:.2f}" for name, p in hits.items())
        body = [highlighted(bench_texts[item.index], span)]
        if best.match is not None:
            body.append(highlighted(train_texts[best.match.train_index], span))
        # Text objects, not strings: ids are dataset text (":train:" would become an emoji).
        title = Text(f"#{item.index} {item.id}  [{label}]")
        subtitle = (
            Text(f"training item {best.match.train_index} {best.match.train_id}")
            if best.match
            else None
        )
        console.print(Panel(Group(*body[:1], "[dim]matched training item:[/dim]", *body[1:]),
                            title=title, subtitle=subtitle, title_align="left"))  # fmt: skip
