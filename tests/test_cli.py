"""The command line through Typer's CliRunner: exit codes, JSON contract, messages."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.loading import load_corpus

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture(scope="module")
def train_file(tmp_path_factory) -> Path:
    """A JSONL training file holding 20 SST-2 test sentences among unrelated GSM8K questions."""
    sst = load_corpus("sst2:test").texts
    gsm = load_corpus("gsm8k:train").texts[:300]
    rows = [{"text": t} for t in gsm[:150]] + [{"text": sst[i]} for i in range(0, 200, 10)]
    rows += [{"text": t} for t in gsm[150:]]
    path = tmp_path_factory.mktemp("cli") / "train.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_overlap_json_contract(train_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = run(
        "overlap", "--train", str(train_file), "--bench", "sst2:test", "--format", "json",
        "--probe", "exact", "--probe", "ngram", "--probe", "minhash", "--out", str(out), "-q",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report == json.loads(out.read_text())
    assert report["schema_version"] == 6 and report["report"] == "overlap"
    assert report["bench"]["items"] == 1821 and report["train"]["items"] == 320
    assert set(report["probes"]) == {"exact", "ngram", "minhash"}
    assert len(report["items"]) == 1821
    assert [item["index"] for item in report["items"]] == list(range(1821))
    flagged = {item["index"] for item in report["items"] if item["flagged"]}
    assert set(range(0, 200, 10)) <= flagged
    assert report["summary"]["flagged"] == len(flagged)
    assert report["summary"]["fraction"] == pytest.approx(len(flagged) / 1821)
    item = report["items"][10]
    assert item["probes"]["exact"]["flagged"] is True
    assert item["probes"]["exact"]["match"]["train_index"] == 151
    match = item["probes"]["exact"]["match"]
    assert set(match) == {"train_index", "train_id", "span", "train_text"}
    sst = load_corpus("sst2:test").texts
    assert item["text"] == sst[10][:400] and item["probes"]["exact"]["match"]["train_text"]
    assert all(i["text"] is None for i in report["items"] if not i["flagged"])
    for summary in report["probes"].values():
        assert set(summary) >= {"kind", "params", "method", "threshold", "flagged", "fraction"}
    assert report["provides"] == {"verbatim": "exact"}


def test_overlap_table_with_all_probes(tmp_path: Path) -> None:
    bench = tmp_path / "bench.txt"
    bench.write_text("What is the capital of France ?\nHow many legs does a spider have ?\n")
    train = tmp_path / "train.txt"
    train.write_text("trivia: how many legs does a spider have ? eight.\nUnrelated text.\n")
    result = run("overlap", "--train", str(train), "--bench", str(bench))
    assert result.exit_code == 0, result.output
    assert "any probe" in result.stdout
    assert "How many legs does a spider have" in result.stdout
    assert "train.txt:0" in result.stdout


def test_shift_json_contract(tmp_path: Path) -> None:
    result = run(
        "shift", "--train", "trec:train", "--bench", "trec:test", "--format", "json",
        "--permutations", "50", "--max-train", "400", "-q",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["schema_version"] == 6 and report["report"] == "shift"
    assert set(report["tests"]) == {"mmd", "c2st", "typicality", "labels", "lexical"}
    for test in report["tests"].values():
        assert {"statistic", "statistic_label", "p_value", "params", "verdict"} <= set(test)
    assert "auc" in report["tests"]["c2st"]["details"]
    assert report["provides"] == {"drift": "c2st", "in_distribution": "typicality"}
    assert report["summary"]["alpha"] == 0.05 and isinstance(report["summary"]["shifted"], bool)
    assert [item["index"] for item in report["items"]] == list(range(500))
    assert all(
        0 < item["scores"]["typicality"] <= 1 and 0 <= item["scores"]["c2st"] <= 1
        for item in report["items"]
    )
    least = sorted(report["items"], key=lambda item: item["scores"]["typicality"])
    assert all(item["text"] for item in least[:20])


def test_shift_table_and_bad_options() -> None:
    result = run("shift", "--train", "trec:train", "--bench", "trec:test", "--probe", "lexical",
                 "--probe", "labels")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "lexical" in result.stdout and "shift" in result.stdout.lower()
    assert run("shift", "--train", "trec", "--bench", "trec", "--probe", "exact").exit_code == 2
    assert run("shift", "--train", "trec", "--bench", "trec", "--alpha", "2").exit_code == 2


def test_bench_list_fits_80_columns() -> None:
    import os

    from rich.console import Console

    from auditor.cli import bench
    from auditor.cli.console import stdout

    with open(os.devnull, "w") as sink:
        narrow = Console(width=80, file=sink, record=True, emoji=False, highlight=False)
        original, bench.stdout = bench.stdout, narrow
        try:
            bench.list_cards()
        finally:
            bench.stdout = original
    lines = narrow.export_text().splitlines()
    assert stdout is original and max(len(line) for line in lines) <= 80
    assert any("gsm8k" in line and "Grade" in line for line in lines)  # descriptions are shown
    assert any("(hub)" in line for line in lines)


def test_bench_list_and_show() -> None:
    listed = run("bench", "list", "--format", "json")
    assert listed.exit_code == 0
    names = {card["name"] for card in json.loads(listed.stdout)}
    assert {"trec", "sst2", "gsm8k", "mmlu"} <= names
    shown = run("bench", "show", "trec", "--format", "json")
    assert json.loads(shown.stdout)["label_names"][0] == "DESC"
    assert run("bench", "show", "trec").exit_code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bench", "show", "trac"], "Did you mean 'trec'"),
        (["overlap", "--train", "trec:train", "--bench", "trec:dev"], "no split 'dev'"),
        (["overlap", "--train", "missing.jsonl", "--bench", "trec"], "no such file"),
        (["overlap", "--train", "trec", "--bench", "trec", "--probe", "exakt"], "Did you mean"),
        (["overlap", "--train", "hf:org/data", "--bench", "trec"], "HF_HUB_OFFLINE"),
        (["overlap", "--bogus"], "No such option"),
    ],
)
def test_input_errors_exit_2(args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.output


def test_bad_line_exits_2_with_line_number(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\n{"text": \n')
    result = run("overlap", "--train", str(bad), "--bench", "trec", "--probe", "exact")
    assert result.exit_code == 2
    assert "bad.jsonl:2: malformed JSON" in " ".join(result.output.split())
    skipped = run("overlap", "--train", str(bad), "--bench", "trec", "--probe", "exact",
                  "--skip-bad-lines", "--format", "json")  # fmt: skip
    assert skipped.exit_code == 0
    assert json.loads(skipped.stdout)["train"]["items"] == 1


def test_ids_with_emoji_codes_print_verbatim() -> None:
    result = run("overlap", "--train", "trec:train", "--bench", "trec:test", "--probe", "exact")
    assert result.exit_code == 0
    assert "training item 2260 (trec:train:2260)" in result.stdout


def test_dataset_text_is_not_markup(tmp_path: Path) -> None:
    text = "[bold]:train: [/nope] What is x ?"
    (tmp_path / "b.txt").write_text(text + "\n")
    (tmp_path / "t.txt").write_text(text + "\n")
    result = run("overlap", "--train", str(tmp_path / "t.txt"), "--bench", str(tmp_path / "b.txt"),
                 "--probe", "exact")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert text in result.stdout


def test_version() -> None:
    from auditor import __version__

    result = run("--version")
    assert result.exit_code == 0 and result.stdout.strip() == f"audit {__version__}"


def test_cuda_without_a_gpu_is_refused_before_any_work(tmp_path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    missing = str(tmp_path / "never-read.jsonl")
    result = run("overlap", "--train", missing, "--bench", missing, "--device", "cuda")
    assert result.exit_code == 2 and "--device cuda" in result.output
    assert "--device cpu" in result.output and "never-read" not in result.output
