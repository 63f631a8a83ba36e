"""Silent wrong results of issue 14, each pinned by a test: what the loader reads from odd
fields, skipped lines in the report, p-values at their permutation floor, the gate's checks,
probe parameter ranges, and progress lines off a terminal."""

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.cli.console import plain_progress
from auditor.errors import InputError
from auditor.loading import LoadOptions, load_corpus
from auditor.render import render
from auditor.report import ShiftReport
from auditor.report_io import read_report
from probes import PROBES, build_probes
from probes.c2st import C2stProbe, c2st_test

GOLDEN = Path(__file__).parent / "golden"
runner = CliRunner()


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_template_newline_is_a_newline(tmp_path: Path) -> None:
    """`--text-field '{question}\\n{answer}'` (as a shell passes it: backslash, n) joins the
    fields with a real newline, not the two characters."""
    path = write(tmp_path / "qa.jsonl", '{"question": "Why?", "answer": "Because."}\n')
    corpus = load_corpus(str(path), LoadOptions(text_field="{question}\\n{answer}"))
    assert corpus.texts == ["Why?\nBecause."]
    tabbed = load_corpus(str(path), LoadOptions(text_field="{question}\\t{answer}"))
    assert tabbed.texts == ["Why?\tBecause."]


def test_numbers_in_the_text_field_are_their_decimal_text(tmp_path: Path) -> None:
    """The documented conversion: numbers become text; booleans and objects are errors."""
    path = write(tmp_path / "n.jsonl", '{"text": 42}\n{"text": 2.5}\n{"text": ["a", 3]}\n')
    assert load_corpus(str(path)).texts == ["42", "2.5", "a\n3"]
    for bad, words in (("true", "a boolean (true)"), ('{"a": 1}', "an object")):
        path = write(tmp_path / "b.jsonl", f'{{"text": {bad}}}\n')
        with pytest.raises(InputError, match=r"b\.jsonl:1: the text field 'text' holds") as error:
            load_corpus(str(path))
        assert words in str(error.value)


def test_chat_turns_stay_readable(tmp_path: Path) -> None:
    line = {"messages": [{"role": "user", "content": "hi"}, {"role": "bot", "content": "yo"}]}
    path = write(tmp_path / "chat.jsonl", json.dumps(line) + "\n")
    assert load_corpus(str(path)).texts == ["user: hi\nbot: yo"]


def test_skipped_lines_are_counted_in_the_report(tmp_path: Path) -> None:
    bench = write(tmp_path / "bench.jsonl", '{"text": "one two"}\nbroken\n{"text": "three"}\n')
    train = write(tmp_path / "train.jsonl", '{"text": "one two"}\n')
    args = ["overlap", "--train", str(train), "--bench", str(bench), "-p", "exact",
            "--skip-bad-lines", "--format", "json"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["bench"]["skipped_lines"] == 1 and report["train"]["skipped_lines"] == 0
    assert "skipped 1 bad line (first: " in " ".join(result.stderr.split())


def test_c2st_p_value_at_its_floor_is_a_bound() -> None:
    rng = np.random.default_rng(0)
    test, _ = c2st_test(rng.normal(0, 1, (40, 8)), rng.normal(4, 1, (40, 8)), n_permutations=30)
    probe = C2stProbe(n_permutations=30)
    result = probe.result([], test=test).test
    assert result.p_value == pytest.approx(1 / 31) and result.p_value_floor == pytest.approx(1 / 31)
    assert result.at_floor
    mixed, _ = c2st_test(rng.normal(0, 1, (40, 8)), rng.normal(0, 1, (40, 8)), n_permutations=30)
    assert not probe.result([], test=mixed).test.at_floor


def test_every_format_prints_a_floor_p_value_as_a_bound() -> None:
    data = json.loads((GOLDEN / "run_report.json").read_text())["shift"]
    data["tests"]["c2st"].update(p_value=1 / 201, p_value_floor=1 / 201, at_floor=True)
    report = ShiftReport.model_validate(data)
    for fmt in ("markdown", "html"):
        assert "≤ 0.005 (200 permutations)" in render(report, fmt, 10), fmt
    table = render(report, "table", 10)  # the cell wraps inside its column
    assert "≤ 0.005 (200" in table and "permutations)" in table
    assert json.loads(render(report, "json", 10))["tests"]["c2st"]["at_floor"] is True


def test_a_report_whose_summary_disagrees_with_its_items_is_refused(tmp_path: Path) -> None:
    data = json.loads((GOLDEN / "run_report.json").read_text())
    first = next(i for i in data["overlap"]["items"] if not i["flagged"])
    first["flagged"] = True  # one more flagged item than the summary says
    path = write(tmp_path / "r.json", json.dumps(data))
    with pytest.raises(InputError, match="summary.flagged"):
        read_report(path)


def test_gate_accepts_a_valid_policy_and_refuses_a_boolean_limit(tmp_path: Path) -> None:
    good = write(tmp_path / "ok.toml", "[rules]\nmax_flagged_fraction = 1\n")
    report = str(GOLDEN / "run_report.json")
    assert runner.invoke(app, ["gate", report, "--policy", str(good)]).exit_code == 0
    boolean = write(tmp_path / "b.toml", "[rules]\nmax_flagged_fraction = true\n")
    assert runner.invoke(app, ["gate", report, "--policy", str(boolean)]).exit_code == 2


def test_every_probe_accepts_its_own_defaults_and_refuses_nan() -> None:
    for name in PROBES.names():
        (probe,) = build_probes([name])
        probe.check_params()
        for key in type(probe).bounds:
            with pytest.raises(InputError, match=f"--param {name}.{key}"):
                build_probes([name], {name: {key: float("nan")}})


def test_plain_progress_is_rate_limited_and_ends_each_stage() -> None:
    lines: list[str] = []
    now = [0.0]
    update = plain_progress(lines.append, every=10, clock=lambda: now[0])
    for done in range(0, 101):
        now[0] = done * 0.5  # 50 s in all
        update("scanning", done, 100)
    update("scanning", 100, 100)  # a repeated end prints nothing more
    assert lines[0] == "scanning: 0/100 (0%), 0 s"
    assert lines[-1] == "scanning: 100/100 (100%), 50 s, done"
    assert len(lines) == 6  # at 0, 10, 20, 30 and 40 s, and the end at 50 s


def test_progress_lines_reach_stderr_off_a_terminal(tmp_path: Path) -> None:
    bench = write(tmp_path / "b.txt", "one two three four\n")
    result = runner.invoke(app, ["overlap", "--train", str(bench), "--bench", str(bench),
                                 "-p", "exact", "--format", "json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "/1 (100%)" in result.stderr and ", done" in result.stderr
    assert json.loads(result.stdout)["summary"]["flagged"] == 1
    quiet = runner.invoke(app, ["overlap", "--train", str(bench), "--bench", str(bench),
                                "-p", "exact", "--format", "json", "-q"])  # fmt: skip
    assert quiet.stderr == ""
