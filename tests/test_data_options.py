"""Options that name one DATA argument apply to it only (issue 14): the shared field and
encoding options skip cards, per-side forms name one side, and `index build --cache-dir`."""

import json
from pathlib import Path

from typer.testing import CliRunner

from auditor.cli import app
from auditor.cli.options import DataOptions, PairedDataOptions
from auditor.loading import load_corpus
from tests.helpers import write_jsonl

runner = CliRunner()


def test_shared_text_field_names_the_file_not_the_card(tmp_path: Path) -> None:
    """The command of the issue: TREC's card has no `question` field, so applying the shared
    option to both sides failed; now it reads my.jsonl only, and a TREC question copied into
    the benchmark is found in TREC's training split."""
    leaked = load_corpus("trec:train").texts[7]
    bench = write_jsonl(tmp_path / "my.jsonl", [
        {"question": leaked, "text": "not the text"},
        {"question": "zzyzx qwvvk never asked anywhere", "text": "not the text either"},
    ])  # fmt: skip
    command = [
        "overlap",
        "--train",
        "trec:train",
        "--bench",
        str(bench),
        "--text-field",
        "question",
    ]
    result = runner.invoke(app, [*command, "-p", "exact", "-f", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    items = {item["text"]: item for item in report["items"]}
    assert set(items) >= {leaked}, items.keys()
    assert items[leaked]["probes"]["exact"]["flagged"] is True
    assert "trec:train: a card declares its own fields and encoding, so --text-field" in (
        result.stderr
    )


def test_per_side_fields_win_over_shared_ones(tmp_path: Path) -> None:
    """`--bench-text-field` names the benchmark's field while the shared one still names the
    training file's; labels likewise. Swapping the sides' fields changes what is read."""
    bench = write_jsonl(tmp_path / "bench.jsonl", [
        {"question": "alpha beta gamma delta", "prompt": "unrelated one", "tag": "b", "y": "B"},
    ])  # fmt: skip
    train = write_jsonl(tmp_path / "train.jsonl", [
        {"question": "unrelated two", "prompt": "alpha beta gamma delta", "tag": "t", "y": "T"},
    ])  # fmt: skip
    options = PairedDataOptions(text_field="prompt", label_field="tag", bench_text_field="question",
                                bench_label_field="y")  # fmt: skip
    bench_corpus, train_corpus = options.load([(str(bench), "bench"), (str(train), "train")], True)
    assert bench_corpus.texts == train_corpus.texts == ["alpha beta gamma delta"]
    assert bench_corpus.dataset["label"] == ["B"] and train_corpus.dataset["label"] == ["t"]
    # A plain spec (no side) and a one-sided command's options take the shared fields only.
    (plain,) = options.load([str(bench)], True)
    assert plain.texts == ["unrelated one"] and plain.dataset["label"] == ["b"]
    (one_side,) = DataOptions(text_field="question").load([(str(train), "train")], True)
    assert one_side.texts == ["unrelated two"]

    result = runner.invoke(app, ["overlap", "--train", str(train), "--bench", str(bench),
                                 "--train-text-field", "prompt", "--bench-text-field", "question",
                                 "-p", "exact", "-f", "json", "-q"])  # fmt: skip
    assert result.exit_code == 0, result.output
    (item,) = json.loads(result.stdout)["items"]
    assert item["text"] == "alpha beta gamma delta" and item["probes"]["exact"]["flagged"]


def test_per_side_field_applies_to_a_card(tmp_path: Path) -> None:
    """A per-side option is explicit, so it overrides even a card's declared field."""
    (corpus,) = PairedDataOptions(bench_text_field="answer").load([("gsm8k:test", "bench")], True)
    assert corpus.texts[0] == load_corpus("gsm8k:test").dataset["answer"][0]
