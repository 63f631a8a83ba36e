"""`audit run` end to end on tiny models and a TREC slice."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.loading import load_corpus
from tests.models import tiny_bert

runner = CliRunner()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    train, test = load_corpus("trec:train"), load_corpus("trec:test")

    def write(name: str, corpus, rows: range) -> Path:
        labels = corpus.column("label")
        lines = [json.dumps({"text": corpus.texts[i], "label": labels[i]}) for i in rows]
        (folder / name).write_text("\n".join(lines) + "\n")
        return folder / name

    bench = write("bench.jsonl", test, range(80))
    train_file = write("train.jsonl", train, range(300))
    with train_file.open("a") as handle:  # plant 5 benchmark items in the training data
        for i in range(5):
            handle.write(
                json.dumps({"text": test.texts[i], "label": test.column("label")[i]}) + "\n"
            )
    return folder, bench, train_file, tiny_bert(folder / "base")


def test_run_report_for_a_base_model(data) -> None:
    folder, bench, train, base = data
    out = folder / "report.json"
    args = ["run", "--model", str(base), "--bench", str(bench), "--train", str(train)]
    result = runner.invoke(app, [*args, "--out", str(out), "--cache-dir", str(folder / "c")])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["schema_version"] == 1 and report["provenance"]["version"]
    assert report["candidate"]["how"].startswith("a base model")
    assert report["candidate"]["accuracy"] == report["controls"]["pretrained"]["accuracy"]
    attribution = report["attribution"]
    assert attribution["chance"] == pytest.approx(1 / 6)
    if attribution["shares"] is not None:
        assert attribution["shares"]["residual"]["value"] == pytest.approx(0.0, abs=1e-9)
        assert sum(s["value"] for s in attribution["shares"].values()) == pytest.approx(1.0)
    else:
        assert "not above chance" in attribution["undefined"]
    assert attribution["flagged"]["candidate"]["items"] >= 5  # the planted copies
    assert len(report["overlap"]["items"]) == 80 and len(report["shift"]["items"]) == 80
    assert "Accuracy" in result.stdout and "Overlap" in result.stdout


def test_run_scores_a_trained_candidate_as_is(data) -> None:
    folder, bench, train, base = data
    first = json.loads((folder / "report.json").read_text())
    candidate = first["controls"]["pretrained"]["checkpoint"]
    result = runner.invoke(app, ["run", "--model", candidate, "--base", str(base), "--bench",
                                 str(bench), "--train", str(train), "--format", "json",
                                 "--cache-dir", str(folder / "c"), "-q"])  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["candidate"]["how"] == "evaluated as is"
    # the candidate is the pretrained control's own checkpoint: same predictions, same accuracy
    assert report["candidate"]["accuracy"] == pytest.approx(
        first["controls"]["pretrained"]["accuracy"]
    )


def test_run_without_train_needs_a_card(data) -> None:
    _, bench, _, base = data
    result = runner.invoke(app, ["run", "--model", str(base), "--bench", str(bench)])
    assert result.exit_code == 2 and "--train" in result.output
