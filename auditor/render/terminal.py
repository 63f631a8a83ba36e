"""Sections on a terminal (rich): the verdict in a panel, tables with marked evidence."""

from rich.console import Console
from rich.panel import Panel
from rich.table import Table as RichTable
from rich.text import Text

from auditor.render.highlight import split_on_span
from auditor.render.sections import Bar, Block, Cell, Marked, Paragraph, Section, Table, Verdict

BAR_WIDTH = 30


def _cell(cell: Cell) -> Text:
    # Text objects, never markup strings: dataset text may hold "[bold]" or ":train:".
    if isinstance(cell, Bar):
        filled = max(0, min(BAR_WIDTH, round(abs(cell.value) * BAR_WIDTH)))
        return Text("█" * filled, style="red" if cell.value < 0 else "cyan")
    if isinstance(cell, Marked):
        before, matched, after = split_on_span(cell.text, cell.span)
        return Text(before) + Text(matched, style="bold yellow") + Text(after)
    return Text(cell)


def _table(block: Table) -> RichTable:
    table = RichTable(title=Text(block.title) if block.title else None)
    for i, name in enumerate(block.header):
        is_text = any(isinstance(row[i], Marked) for row in block.rows)
        table.add_column(
            name,
            justify="left" if i in block.left else "right",
            ratio=1 if is_text else None,
            overflow="fold",
            min_width=BAR_WIDTH if any(isinstance(row[i], Bar) for row in block.rows) else None,
        )
    for row in block.rows:
        table.add_row(*(_cell(cell) for cell in row))
    if block.footer:
        table.add_section()
        table.add_row(*(Text(str(cell), style="bold") for cell in block.footer))
    return table


def _panels(block: Table, console: Console) -> None:
    """A table of dataset text as one panel per row: the labels as the title, each text under
    its column name (text in narrow table cells is unreadable)."""
    console.print(Text(block.title, style="italic"))
    for row in block.rows:
        labels = [str(row[0])] + [f"{name}: {cell}" for name, cell in zip(block.header[1:], row[1:],
                                  strict=True) if not isinstance(cell, Marked)]  # fmt: skip
        body = Text()
        for name, cell in zip(block.header, row, strict=True):
            if isinstance(cell, Marked):
                body.append(f"{name}:\n", style="dim")
                body.append_text(_cell(cell))
                body.append("\n")
        console.print(Panel(body.rstrip() or body, title=Text("  ".join(labels)),
                            title_align="left"))  # fmt: skip


def _block(block: Block, console: Console) -> None:
    if isinstance(block, Table) and any(isinstance(c, Marked) for r in block.rows for c in r):
        _panels(block, console)
    elif isinstance(block, Table):
        console.print(_table(block))
    elif isinstance(block, Verdict):
        console.print(
            Panel(Text("\n".join(block.lines)), title=Text(block.title), title_align="left")
        )
    elif isinstance(block, Paragraph):
        text = Text(f"{block.lead} ", style="bold") if block.lead else Text()
        text.append(block.text, style="dim" if block.small else "")
        console.print(text)
    # Figures are for the HTML page; their numbers are in the tables beside them.


def render_terminal(sections: list[Section], console: Console) -> None:
    for section in sections:
        for block in section.blocks:
            _block(block, console)
