"""`audit bench list | show NAME`: the benchmark cards in datasets_meta."""

import json

import typer
from rich.table import Table
from rich.text import Text

from auditor import cards
from auditor.cli.console import stdout
from auditor.cli.options import Listing, ListingFormat

app = typer.Typer(help="Benchmark cards: what can be audited by name.", no_args_is_help=True)


def _summary(card: cards.Card) -> dict:
    return {
        "name": card.name,
        "task": card.task,
        "splits": list(card.splits),
        "default_split": card.default_split,
        "offline": card.shipped,
        "chance": card.chance_level,
        "description": card.description,
    }


@app.command("list")
def list_cards(output: ListingFormat = Listing.table) -> None:
    """List the benchmark cards."""
    summaries = [_summary(cards.load_card(name)) for name in cards.card_names()]
    if output is Listing.json:
        print(json.dumps(summaries, indent=2))
        return
    table = Table(title="Benchmark cards (splits marked hub load from the Hugging Face hub)")
    # Sized to fit 80 columns: names and chance never wrap, task and splits may, and the
    # description keeps at least 20 characters.
    table.add_column("name", no_wrap=True)
    table.add_column("task", overflow="fold", max_width=10)
    table.add_column("splits", overflow="fold", max_width=14)
    table.add_column("chance", no_wrap=True)
    table.add_column("description", overflow="fold", ratio=1, min_width=20)
    for s in summaries:
        chance = "" if s["chance"] is None else f"{s['chance']:.3g}"
        splits = ", ".join(s["splits"]) + ("" if s["offline"] else " (hub)")
        table.add_row(s["name"], s["task"], splits, chance, s["description"])
    stdout.print(table)


@app.command("show")
def show_card(
    name: str = typer.Argument(help="Card name, e.g. trec."),
    output: ListingFormat = Listing.table,
) -> None:
    """Show one card: sources, fields, labels, metric, citation."""
    card = cards.load_card(name)
    data = card.model_dump(exclude_none=True)
    data["chance_level"] = card.chance_level
    if output is Listing.json:
        print(json.dumps(data, indent=2))
        return
    table = Table(title=f"Card {card.name}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in data.items():
        if key == "splits":
            value = "\n".join(
                f"{split}: " + ", ".join(f"{k}={v}" for k, v in source.items())
                for split, source in value.items()
            )
        table.add_row(key, Text(str(value)))
    stdout.print(table)
