"""Golden snapshots of every report kind in every format, rendered from committed reports alone.

The fixture (`tests/golden/run_report.json`) is a real `audit run` report of a tiny model on a
TREC slice (`bench.jsonl`, `train.jsonl`); its `overlap` and `shift` parts are themselves
reports. Renderers read nothing but the report. When a renderer changes on purpose, regenerate
the snapshots with

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py

and review the diff. When the report's schema changes, regenerate the fixture first
(`.venv/bin/python -m tests.regenerate_golden`).
"""

import json
import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.render import FORMATS, render
from auditor.report_io import read_report

GOLDEN = Path(__file__).parent / "golden"
KINDS = ("run", "overlap", "shift")


def without_plots(page: str) -> str:
    """The HTML page with its SVG plots cut out (their markup varies with matplotlib)."""
    return re.sub(r"<svg.*?</svg>", "[plot]", page, flags=re.DOTALL)


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    """The run report and its overlap and shift parts, each saved as a report of its own."""
    folder = tmp_path_factory.mktemp("golden")
    data = json.loads((GOLDEN / "run_report.json").read_text())
    paths = {"run": GOLDEN / "run_report.json"}
    for kind in ("overlap", "shift"):
        paths[kind] = folder / f"{kind}_report.json"
        paths[kind].write_text(json.dumps(data[kind]))
    return paths


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("kind", KINDS)
def test_snapshot(reports, kind: str, fmt: str) -> None:
    rendered = render(read_report(reports[kind]), fmt)
    if fmt == "html":
        rendered = without_plots(rendered)
    path = GOLDEN / f"{kind}_report{FORMATS[fmt].suffix}"
    if fmt == "json":
        path = path.with_suffix(".normalised.json")
        rendered = json.dumps(json.loads(rendered), indent=1, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(rendered)
    assert path.is_file(), f"missing snapshot {path}: run with UPDATE_GOLDEN=1"
    assert rendered == path.read_text()


@pytest.mark.parametrize("kind", KINDS)
def test_render_round_trips_every_report(reports, kind: str, tmp_path: Path) -> None:
    """`audit render` of a saved report: JSON back unchanged, every format as `render` gives."""
    original = json.loads(reports[kind].read_text())
    again = CliRunner().invoke(app, ["render", str(reports[kind]), "--format", "json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == original
    outs = [tmp_path / f"r{FORMATS[f].suffix}" for f in FORMATS]
    args = ["render", str(reports[kind]), "-q"] + [a for o in outs for a in ("--out", str(o))]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = read_report(reports[kind])
    for fmt, out in zip(FORMATS, outs, strict=True):
        expected = render(report, fmt)
        text = out.read_text()
        assert (without_plots(text), fmt) == (without_plots(expected), fmt)


def test_render_refuses_what_is_not_a_report(tmp_path: Path) -> None:
    cases = {
        "list.json": "[]",
        "broken.json": "{",
        "old.json": json.dumps({"schema_version": 1, "report": "run"}),
        "other.json": json.dumps({"schema_version": 4, "report": "verdict"}),
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        result = CliRunner().invoke(app, ["render", str(tmp_path / name)])
        assert result.exit_code == 2, (name, result.output)
        assert name in result.output and "Traceback" not in result.output
    bad_suffix = CliRunner().invoke(app, ["render", str(GOLDEN / "run_report.json"), "-o", "x.pdf"])
    assert bad_suffix.exit_code == 2 and ".pdf" in bad_suffix.output


def test_no_shift_verdict_from_zero_tests(reports) -> None:
    """A shift report whose tests all lack a p-value gives no verdict, in every format."""
    report = read_report(reports["shift"])
    report.summary.holm_p_values = {}
    report.summary.shifted = False
    for fmt in ("table", "markdown", "html"):
        text = render(report, fmt)
        assert "no test produced a p-value" in text and "No detectable shift" not in text, fmt


def test_every_format_says_what_the_intervals_carry_for_the_seeds(tmp_path) -> None:
    """One seed: the intervals are over items only, and the report says so; several seeds: over
    items and seeds."""
    data = json.loads((GOLDEN / "run_report.json").read_text())
    for seeds, words in ((1, "1 seed (intervals over items only"),
                         (3, "3 seeds (intervals over items and seeds)")):  # fmt: skip
        data["config"]["seeds"] = seeds
        path = tmp_path / f"run-{seeds}.json"
        path.write_text(json.dumps(data))
        for fmt in ("table", "markdown", "html"):
            assert words in " ".join(render(read_report(path), fmt).split()), (seeds, fmt)
