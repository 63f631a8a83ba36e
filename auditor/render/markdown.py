"""Sections as Markdown, sized for a GitHub step summary (well under 1 MiB).

Dataset text is escaped for Markdown tables (pipes, backticks, angle brackets, emphasis
characters, newlines) and trimmed; figures are left out (their numbers are in the tables).
"""

from auditor.render.sections import Bar, Cell, Figure, Marked, Paragraph, Section, Table, Verdict

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
TEXT_CHARS = 200


def escape(text: str, limit: int = 1000) -> str:
    text = text if len(text) <= limit else text[:limit] + "…"
    return text.translate(_ESCAPES)


def _cell(cell: Cell) -> str:
    if isinstance(cell, Bar):
        return "█" * max(0, min(30, round(abs(cell.value) * 30)))
    if isinstance(cell, Marked):
        return escape(cell.text, TEXT_CHARS)
    return escape(cell)


def _table(block: Table) -> list[str]:
    lines = [f"**{escape(block.title)}**", ""] if block.title else []
    rows = [*block.rows, *([block.footer] if block.footer else [])]
    lines += [
        "| " + " | ".join(escape(h) for h in block.header) + " |",
        "|" + "".join(" --- |" if i in block.left else " ---: |" for i in range(len(block.header))),
    ]
    return lines + ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows] + [""]


def render_markdown(sections: list[Section], title: str) -> str:
    out = [f"# {escape(title)}", ""]
    for section in sections:
        if section.title:
            out += [f"## {escape(section.title)}", ""]
        for block in section.blocks:
            if isinstance(block, Table):
                out += _table(block)
            elif isinstance(block, Verdict):
                out += [f"- {escape(line)}" for line in block.lines] + [""]
            elif isinstance(block, Paragraph):
                text = (f"**{escape(block.lead)}** " if block.lead else "") + escape(block.text)
                out += [f"<sub>{text}</sub>" if block.small else text, ""]
            elif isinstance(block, Figure):
                continue
    return "\n".join(out)
