"""Sections as one self-contained HTML page, figures drawn as inline SVG by matplotlib.

Every dataset string goes through `html.escape` (benchmark and training texts can hold markup);
the plots carry only the report's own labels and numbers. No scripts, no external resources.
"""

import html

from auditor.render.figures import draw
from auditor.render.highlight import split_on_span
from auditor.render.sections import Bar, Cell, Figure, Marked, Paragraph, Section, Table, Verdict

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222;padding:0 1em}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;
text-align:right;vertical-align:top}td.text,th.text{text-align:left;max-width:520px}
caption{font-weight:bold;text-align:left;padding:4px 0}tfoot td{font-weight:bold}
.plots{display:flex;flex-wrap:wrap;gap:1em}.plots figure{margin:0;width:520px}
figcaption{font-size:90%;color:#555}.verdict li{margin:.3em 0}mark{background:#fff3a0}
.bar{display:inline-block;height:.8em;background:#1f77b4}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _cell(cell: Cell) -> str:
    if isinstance(cell, Bar):
        width = max(0, min(100, round(abs(cell.value) * 100)))
        return f'<span class="bar" style="width:{width}px"></span>'
    if isinstance(cell, Marked):
        before, matched, after = split_on_span(cell.text, cell.span)
        return _e(before) + (f"<mark>{_e(matched)}</mark>" if matched else "") + _e(after)
    return _e(cell)


def _row(cells: list[Cell], left: frozenset[int], tag: str = "td") -> str:
    return (
        "<tr>"
        + "".join(
            f'<{tag} class="{"text" if i in left else ""}">{_cell(c)}</{tag}>'
            for i, c in enumerate(cells)
        )
        + "</tr>"
    )


def _table(block: Table) -> str:
    caption = f"<caption>{_e(block.title)}</caption>" if block.title else ""
    head = _row(list(block.header), block.left, "th")
    body = "".join(_row(row, block.left) for row in block.rows)
    foot = f"<tfoot>{_row(block.footer, block.left)}</tfoot>" if block.footer else ""
    return f"<table>{caption}<thead>{head}</thead><tbody>{body}</tbody>{foot}</table>"


def _blocks(section: Section) -> str:
    parts, figures = [], []
    for block in section.blocks:
        if isinstance(block, Figure):
            figures.append(
                f"<figure>{draw(block)}<figcaption>{_e(block.caption)}</figcaption></figure>"
            )
            continue
        if figures:  # a run of figures becomes one row of plots
            parts.append(f'<div class="plots">{"".join(figures)}</div>')
            figures = []
        if isinstance(block, Table):
            parts.append(_table(block))
        elif isinstance(block, Verdict):
            items = "".join(f"<li>{_e(line)}</li>" for line in block.lines)
            parts.append(f'<ul class="verdict">{items}</ul>')
        elif isinstance(block, Paragraph):
            text = (f"<strong>{_e(block.lead)}</strong> " if block.lead else "") + _e(block.text)
            parts.append(f"<p><small>{text}</small></p>" if block.small else f"<p>{text}</p>")
    if figures:
        parts.append(f'<div class="plots">{"".join(figures)}</div>')
    return "".join(parts)


def render_html(sections: list[Section], title: str) -> str:
    body = [f"<h1>{_e(title)}</h1>"]
    for section in sections:
        if section.title:
            body.append(f"<h2>{_e(section.title)}</h2>")
        body.append(_blocks(section))
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
        f"<style>{_STYLE}</style></head><body>{''.join(body)}</body></html>"
    )
