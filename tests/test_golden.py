"""Golden snapshots of every report format, rendered from a committed run report.

The fixture (`tests/golden/run_report.json`, `bench.jsonl`, `train.jsonl`) is a real
`audit run` report of a tiny model on a TREC slice. When a renderer changes on purpose,
regenerate the snapshots with

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py

and review the diff. When the report's schema changes, regenerate the fixture too (run
`audit run` as tests/test_run.py does and copy its report here).
"""

import json
import os
from pathlib import Path

import pytest
from rich.console import Console

from auditor.gate import load_report
from auditor.loading import load_corpus
from auditor.render.html import render_html
from auditor.render.markdown import render_markdown
from auditor.render.run import render_run

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(scope="module")
def fixture():
    report = load_report(GOLDEN / "run_report.json")
    bench = load_corpus(str(GOLDEN / "bench.jsonl"))
    train = load_corpus(str(GOLDEN / "train.jsonl"))
    return report, bench, train


def terminal(report, bench, train) -> str:
    with open(os.devnull, "w") as sink:
        console = Console(width=100, record=True, file=sink, color_system=None)
        render_run(report, bench, train, console)
    return console.export_text()


def html_text(report, bench, train) -> str:
    """The page with its SVG plots cut out (their markup varies with matplotlib versions)."""
    page = render_html(report, bench, train)
    while "<svg" in page:
        page = page[: page.index("<svg")] + "[plot]" + page[page.index("</svg>") + 6 :]
    return page


RENDERERS = {
    "run_report.md": lambda report, bench, train: render_markdown(report, bench),
    "run_report.txt": terminal,
    "run_report.html": html_text,
    "run_report.normalised.json": lambda report, bench, train: (
        json.dumps(report.model_dump(mode="json"), indent=1, sort_keys=True) + "\n"
    ),
}


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_snapshot(fixture, name: str) -> None:
    rendered = RENDERERS[name](*fixture)
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(rendered)
    assert path.is_file(), f"missing snapshot {path}: run with UPDATE_GOLDEN=1"
    assert rendered == path.read_text()
