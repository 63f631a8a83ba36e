"""`audit run` end to end on tiny models and a TREC slice."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.loading import load_corpus
from tests.models import tiny_bert

runner = CliRunner()
XSS = "What is </script><img src=x onerror=alert(1)> | `tick` ?"


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
    hostile = json.dumps({"text": XSS, "label": "DESC"}) + "\n"  # dataset text that is markup
    with bench.open("a") as handle:
        handle.write(hostile)
    with train_file.open("a") as handle:  # plant 5 benchmark items and the hostile one
        for i in range(5):
            handle.write(
                json.dumps({"text": test.texts[i], "label": test.column("label")[i]}) + "\n"
            )
        handle.write(hostile)
    return folder, bench, train_file, tiny_bert(folder / "base")


@pytest.fixture(scope="module")
def base_run(data):
    folder, bench, train, base = data
    out = folder / "report.json"
    args = ["run", "--model", str(base), "--bench", str(bench), "--train", str(train)]
    outs = [
        "--out",
        str(out),
        "--out",
        str(folder / "report.md"),
        "--out",
        str(folder / "report.html"),
    ]
    result = runner.invoke(app, [*args, *outs, "--cache-dir", str(folder / "c")])
    assert result.exit_code == 0, result.output
    return result, out


def test_run_report_for_a_base_model(base_run) -> None:
    result, out = base_run
    report = json.loads(out.read_text())
    assert report["schema_version"] == 6 and report["provenance"]["version"]
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
    assert len(report["overlap"]["items"]) == 81 and len(report["shift"]["items"]) == 81
    assert "Accuracy" in result.stdout and "Overlap" in result.stdout


def test_run_scores_a_trained_candidate_as_is(data, base_run) -> None:
    folder, bench, train, base = data
    first = json.loads(base_run[1].read_text())
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


def test_run_with_a_self_pretrained_control_splits_transfer(data, tmp_path) -> None:
    """--controls scratch,selfpretrained,pretrained: the third control trains, the report and
    every format carry the split of transfer, and fitting + training text + external transfer
    + residual = 1."""
    folder, bench, train, base = data
    args = ["run", "--model", str(base), "--bench", str(bench), "--train", str(train),
            "--controls", "scratch,selfpretrained,pretrained", "--pretrain-steps", "4",
            "--cache-dir", str(folder / "c"), "--out", str(tmp_path / "r.json"),
            "--out", str(tmp_path / "r.md"), "--out", str(tmp_path / "r.html"), "-q"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert list(report["controls"]) == ["scratch", "selfpretrained", "pretrained"]
    assert report["config"]["controls"] == ["scratch", "selfpretrained", "pretrained"]
    assert report["controls"]["selfpretrained"]["checkpoint"] != report["controls"]["scratch"][
        "checkpoint"
    ]
    attribution = report["attribution"]
    assert "selfpretrained" in attribution["accuracy"]
    if attribution["shares"] is not None:
        shares = {name: s["value"] for name, s in attribution["shares"].items()}
        parts = ("fitting", "training_text", "external_transfer", "residual")
        assert sum(shares[name] for name in parts) == pytest.approx(1.0)
        assert shares["transfer"] == pytest.approx(
            shares["training_text"] + shares["external_transfer"]
        )
        assert "of which training text" in (tmp_path / "r.md").read_text()
    assert "self-pretrained control" in (tmp_path / "r.md").read_text()
    assert "self-pretrained control" in (tmp_path / "r.html").read_text()
    rendered = runner.invoke(app, ["render", str(tmp_path / "r.json"), "--format", "markdown"])
    assert rendered.exit_code == 0 and "self-pretrained control" in rendered.stdout


def test_a_schema_4_report_still_renders_and_gates(base_run, tmp_path) -> None:
    """Reports saved by the previous release (schema 4: no self-pretrained control) are read."""
    data = json.loads(base_run[1].read_text())
    old = tmp_path / "v4.json"
    old.write_text(json.dumps({**data, "schema_version": 4}))
    assert runner.invoke(app, ["render", str(old), "--format", "markdown"]).exit_code == 0
    lenient = write_policy(tmp_path / "lenient.toml", "[rules]\nmax_flagged_fraction = 1.0\n")
    assert runner.invoke(app, ["gate", str(old), "--policy", str(lenient)]).exit_code == 0


def test_run_without_train_needs_a_card(data) -> None:
    _, bench, _, base = data
    result = runner.invoke(app, ["run", "--model", str(base), "--bench", str(bench)])
    assert result.exit_code == 2 and "--train" in result.output


def write_policy(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_gate_exit_codes_and_outputs(base_run, tmp_path, monkeypatch) -> None:
    _, report = base_run
    lenient = write_policy(tmp_path / "lenient.toml", "[rules]\nmax_flagged_fraction = 1.0\n")
    passed = runner.invoke(app, ["gate", str(report), "--policy", str(lenient)])
    assert passed.exit_code == 0, passed.output
    assert "PASS max_flagged_fraction" in passed.stdout
    strict = write_policy(tmp_path / "strict.toml", "[rules]\nmax_exact_duplicates = 0\n"
                          "max_flagged_fraction = 0.0\n")  # fmt: skip
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    junit = tmp_path / "gate.xml"
    failed = runner.invoke(
        app, ["gate", str(report), "--policy", str(strict), "--junit", str(junit)]
    )
    assert failed.exit_code == 1  # five planted copies: exact duplicates > 0
    assert "FAIL max_exact_duplicates" in failed.stdout
    assert "::error title=audit gate%3A max_exact_duplicates::" in failed.stdout
    assert "| max_exact_duplicates | fail |" in summary.read_text()
    from xml.etree import ElementTree

    suite = ElementTree.fromstring(junit.read_bytes())
    assert suite.get("tests") == "2" and suite.get("failures") == "2"


def test_gate_rejects_bad_policies_and_reports(base_run, tmp_path) -> None:
    _, report = base_run
    typo = write_policy(tmp_path / "typo.toml", "[rules]\nmax_flaged_fraction = 0.1\n")
    bad = runner.invoke(app, ["gate", str(report), "--policy", str(typo)])
    assert bad.exit_code == 2 and "max_flaged_fraction" in bad.output
    data = json.loads(report.read_text())
    old = tmp_path / "old.json"
    old.write_text(json.dumps({**data, "schema_version": 99}))
    mismatch = runner.invoke(app, ["gate", str(old)])
    assert mismatch.exit_code == 2 and "schema_version 99" in mismatch.output
    empty = tmp_path / "empty.json"
    data["overlap"]["items"] = []
    data["overlap"]["summary"] = {"flagged": 0, "fraction": 0.0}  # consistent with no items
    empty.write_text(json.dumps(data))
    lenient = write_policy(tmp_path / "lenient.toml", "[rules]\n")
    never = runner.invoke(app, ["gate", str(empty), "--policy", str(lenient)])
    assert never.exit_code == 1 and "no benchmark items" in never.stdout


def test_github_escaping() -> None:
    from auditor.gate import github_escape

    assert github_escape("100%\nnext: a,b") == "100%25%0Anext: a,b"
    assert github_escape("a: b,c", property_value=True) == "a%3A b%2Cc"


def test_report_validates_against_the_committed_schema(base_run) -> None:
    import jsonschema

    from auditor.schema import SCHEMA_PATH, run_report_schema

    committed = json.loads(SCHEMA_PATH.read_text())
    assert committed == run_report_schema(), "regenerate it: python -m auditor.schema"
    jsonschema.validate(json.loads(base_run[1].read_text()), committed)


def test_html_and_markdown_reports_are_inert(base_run) -> None:
    folder = base_run[1].parent
    page = (folder / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") >= 3
    assert "<img" not in page and "<script" not in page and "onerror=alert(1)&gt;" in page
    summary = (folder / "report.md").read_text()
    assert "<img" not in summary and "\\| \\`tick\\`" in summary
    assert len(summary.encode()) < 1 << 20


def test_run_on_a_generation_benchmark(tmp_path) -> None:
    """GSM8K slices with a tiny causal LM: scored as is (it has a language-model head)."""
    from tests.models import tiny_gpt2

    train, test = load_corpus("gsm8k:train"), load_corpus("gsm8k:test")

    def write(name: str, corpus, count: int) -> Path:
        pairs = zip(corpus.texts[:count], corpus.column("answer")[:count], strict=True)
        path = tmp_path / name
        path.write_text("".join(json.dumps({"question": q, "answer": a}) + "\n" for q, a in pairs))
        return path

    base = tiny_gpt2(tmp_path / "gpt2")
    args = ["run", "--model", str(base), "--bench", str(write("bench.jsonl", test, 4)),
            "--train", str(write("train.jsonl", train, 32)), "--cache-dir", str(tmp_path / "c"),
            "--max-steps", "4", "--jobs", "1", "--format", "json", "-q"]  # fmt: skip
    result = runner.invoke(app, args)  # one job: spawning a process costs more than 4 steps
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["task"]["type"] == "generation" and report["task"]["chance"] == 0.0
    assert report["candidate"]["how"] == "evaluated as is"
    assert len(report["candidate"]["items"]) == 4
    assert set(report["controls"]) == {"scratch", "pretrained"}
    attribution = report["attribution"]
    assert (attribution["shares"] is None) == (report["candidate"]["accuracy"] <= 0.0)


def test_a_repeated_run_reads_everything_from_the_cache(data, base_run, monkeypatch) -> None:
    import auditor.run
    from auditor.controls import training

    folder, bench, train, base = data
    monkeypatch.setattr(auditor.run, "run_probes", lambda *a, **k: pytest.fail("rescanned"))
    monkeypatch.setattr(training, "fit", lambda *a, **k: pytest.fail("retrained"))
    args = ["run", "--model", str(base), "--bench", str(bench), "--train", str(train)]
    again = runner.invoke(app, [*args, "--cache-dir", str(folder / "c"), "--format", "json"])
    assert again.exit_code == 0, again.output
    first = json.loads(base_run[1].read_text())
    second = json.loads(again.stdout)
    for part in ("overlap", "shift", "candidate", "attribution"):
        assert second[part] == first[part]


def test_a_plugin_probe_runs_in_overlap_and_run(data, base_run, prefix_plugin) -> None:
    """One module plus an entry point: `audit overlap` and `audit run` run it by default."""
    folder, bench, train, base = data
    args = ["--train", str(train), "--bench", str(bench), "--format", "json", "-q"]
    overlap = runner.invoke(app, ["overlap", *args, "--cache-dir", str(folder / "c")])
    assert overlap.exit_code == 0, overlap.output
    report = json.loads(overlap.stdout)
    assert list(report["probes"]) == ["exact", "ngram", "containment", "minhash", "embedding",
                                      "alignment", "prefix"]
    planted = [item for item in report["items"] if item["index"] < 5]
    assert all(item["probes"]["prefix"]["flagged"] for item in planted)  # the planted copies
    assert report["probes"]["prefix"]["method"] == "words=6"
    tuned = runner.invoke(app, ["overlap", *args, "-p", "prefix", "--param", "prefix.words=3"])
    assert json.loads(tuned.stdout)["probes"]["prefix"]["params"] == {"words": 3}
    run = runner.invoke(app, ["run", "--model", str(base), "--bench", str(bench), "--train",
                              str(train), "--format", "json", "-q",
                              "--cache-dir", str(folder / "c")])  # fmt: skip
    assert run.exit_code == 0, run.output
    assert "prefix" in json.loads(run.stdout)["overlap"]["probes"]


def test_probe_options_are_checked_before_loading(data) -> None:
    folder, _, _, base = data
    missing = str(folder / "no-such-file.jsonl")  # never read: the options fail first
    cases = {
        ("overlap", "-p", "mmd"): "a shift probe",
        ("shift", "-p", "exact"): "an overlap probe",
        ("overlap", "-p", "exakt"): "Did you mean 'exact'",
        ("overlap", "--param", "ngram.nope=1"): "no parameter 'nope'",
        ("overlap", "--param", "ngram.n=ten"): "expected an integer",
        ("overlap", "--param", "ngram"): "NAME.KEY=VALUE",
        ("overlap", "--out", str(folder / "r.pdf")): ".pdf",
        ("overlap", "--out", str(folder)): "a folder",
        ("run", "--model", str(base), "-p", "mmd", "-p", "labels", "-p", "zzz"): "zzz",
    }
    for args, message in cases.items():
        command, rest = args[0], list(args[1:])
        data_args = ["--bench", missing] if command == "run" else ["--train", missing,
                                                                   "--bench", missing]  # fmt: skip
        result = runner.invoke(app, [command, *data_args, *rest])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and "no-such-file" not in result.output, args


def test_a_causal_candidate_gets_model_probes_with_and_without_training_data(tmp_path) -> None:
    """With training data the pretrained control is the reference; without, the run evaluates
    and reads the model alone, says why there is no attribution, and the gate still reads it."""
    from tests.models import tiny_gpt2

    test = load_corpus("gsm8k:test")
    pairs = zip(test.texts[:6], test.column("answer")[:6], strict=True)
    bench = tmp_path / "bench.jsonl"
    bench.write_text("".join(json.dumps({"question": q, "answer": a}) + "\n" for q, a in pairs))
    train = tmp_path / "train.jsonl"
    train.write_text(bench.read_text())
    base = tiny_gpt2(tmp_path / "gpt2")
    common = ["--model", str(base), "--bench", str(bench), "--cache-dir", str(tmp_path / "c"),
              "--format", "json", "-q"]  # fmt: skip
    with_train = runner.invoke(app, ["run", *common, "--train", str(train), "--max-steps", "4",
                                     "--jobs", "1"])  # fmt: skip
    assert with_train.exit_code == 0, with_train.output
    membership = json.loads(with_train.stdout)["membership"]
    assert membership["reference_how"] == "the pretrained control"
    assert "trained by this audit's budget" in membership["summary"]["note"]
    assert "reference" in membership["probes"] and membership["not_in_training"] is not None
    assert len(membership["items"]) == 6

    out = tmp_path / "alone.json"
    alone = runner.invoke(app, ["run", *common, "--out", str(out)])
    assert alone.exit_code == 0, alone.output
    report = json.loads(alone.stdout)
    assert report["overlap"] is None and report["attribution"] is None and not report["controls"]
    assert "no training data" in report["no_training_data"]
    assert report["membership"]["reference"] is None
    assert report["membership"]["summary"]["flagged"] is None
    assert "reference" not in report["membership"]["probes"]
    for fmt in ("table", "markdown", "html"):
        shown = runner.invoke(app, ["render", str(out), "--format", fmt])
        assert shown.exit_code == 0 and "No attribution" in shown.stdout, fmt
    gated = runner.invoke(app, ["gate", str(out)])
    assert gated.exit_code == 0, gated.output  # nothing failed; what it cannot read only warns
    assert "max_membership_fraction" in gated.output and "warn" in gated.output.lower()


def test_a_step_cap_that_stops_the_controls_early_makes_the_shares_bounds(data) -> None:
    folder, bench, train, base = data
    result = runner.invoke(app, ["run", "--model", str(base), "--bench", str(bench), "--train",
                                 str(train), "--max-steps", "2", "--jobs", "1", "--cache-dir",
                                 str(folder / "capped"), "--format", "json", "-q"])  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["config"]["max_steps"] == 2
    assert report["attribution"]["converged"] == {"scratch": False, "pretrained": False}
    shares = report["attribution"]["shares"]
    # residual is zero by construction here (the candidate is scored as the pretrained control)
    assert shares is None or (shares["fitting"]["bound"] and shares["transfer"]["bound"])


def test_a_time_cap_of_zero_is_refused_before_any_data_is_read(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "--model", "minilm", "--bench", str(tmp_path / "none"),
                                 "--max-minutes", "0", "-q"])  # fmt: skip
    assert result.exit_code == 2 and "--max-minutes 0" in result.output
