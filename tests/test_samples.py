"""The candidate's scores read from lm-evaluation-harness samples files (`auditor.samples`).

The files are written here exactly as lm_eval --log_samples writes them for gsm8k: one row per
(doc, filter), two filters, the doc and its SHA-256 `doc_hash`, the metric names and values, and
a results_*.json with the aggregate beside them.
"""

import hashlib
import json
from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.loading import load_corpus
from auditor.samples import read_samples

DATE = "2026-11-27T10-00-00.000001"
STRICT = [1, 0, 1, 1, 0, 0]
FLEXIBLE = [1, 1, 1, 1, 0, 1]


def _row(doc_id: int, doc: dict, filter_name: str, value: int) -> dict:
    return {
        "doc_id": doc_id, "doc": doc, "target": doc["answer"], "arguments": [["prompt", {}]],
        "resps": [["The answer is 7."]], "filtered_resps": ["7"], "filter": filter_name,
        "metrics": ["exact_match"],
        "doc_hash": hashlib.sha256(json.dumps(doc, indent=2, ensure_ascii=False)
                                   .encode("utf-8")).hexdigest(),
        "prompt_hash": "0" * 64, "target_hash": "0" * 64, "exact_match": float(value),
    }  # fmt: skip


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    test = load_corpus("gsm8k:test")
    folder = tmp_path_factory.mktemp("samples")
    path = folder / "bench.jsonl"
    rows = zip(test.texts[:6], test.column("answer")[:6], strict=True)
    path.write_text("".join(json.dumps({"question": q, "answer": a}) + "\n" for q, a in rows))
    return load_corpus(str(path)), path


def write(folder: Path, bench, rows: list[dict] | None = None, mean: float | None = None) -> Path:
    corpus, _ = bench
    if rows is None:
        docs = [{"question": q, "answer": a}
                for q, a in zip(corpus.texts, corpus.column("answer"), strict=True)]  # fmt: skip
        filters = (("strict-match", STRICT), ("flexible-extract", FLEXIBLE))
        rows = [_row(i, doc, name, values[i])
                for i, doc in enumerate(docs) for name, values in filters]  # fmt: skip
    path = folder / f"samples_gsm8k_{DATE}.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    results = {"gsm8k": {"exact_match,strict-match": sum(STRICT) / 6 if mean is None else mean,
                         "exact_match,flexible-extract": sum(FLEXIBLE) / 6}}  # fmt: skip
    (folder / f"results_{DATE}.json").write_text(json.dumps({"results": results}))
    return path


def test_reads_the_chosen_filter_in_benchmark_order(bench, tmp_path: Path) -> None:
    path = write(tmp_path, bench)
    accuracy, items, how = read_samples(path, bench[0], filter_name="strict-match")
    assert accuracy == pytest.approx(3 / 6)
    assert [item["correct"] for item in items] == [bool(v) for v in STRICT]
    assert [item["index"] for item in items] == list(range(6))
    assert "strict-match" in how and "exact_match" in how and f"results_{DATE}.json" in how
    flexible, _, _ = read_samples(path, bench[0], filter_name="flexible-extract")
    assert flexible == pytest.approx(5 / 6)


def _rows(bench) -> list[dict]:
    corpus, _ = bench
    pairs = zip(corpus.texts, corpus.column("answer"), strict=True)
    return [_row(i, {"question": q, "answer": a}, "strict-match", STRICT[i])
            for i, (q, a) in enumerate(pairs)]  # fmt: skip


def _damaged(kind: str, rows: list[dict]) -> list[dict]:
    if kind == "missing":
        return rows[:-1]
    if kind == "duplicate":
        return [*rows, rows[2]]
    if kind == "out of range":
        rows[5] = {**rows[5], "doc_id": 9}
    elif kind == "shuffled":
        rows[0], rows[1] = {**rows[0], "doc_id": 1}, {**rows[1], "doc_id": 0}
    elif kind == "tampered":
        rows[3] = {**rows[3], "doc": {**rows[3]["doc"], "answer": "#### 999"}}
    elif kind == "graded":
        rows[4] = {**rows[4], "exact_match": 0.5}
    return rows


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("missing", ["5 docs", "doc 5 is missing"]),
        ("duplicate", ["line 7", "doc_id 2 appears twice"]),
        ("out of range", ["line 6", "doc_id 9"]),
        ("shuffled", ["line 1", "does not hold benchmark item 1"]),
        ("tampered", ["line 4", "doc_hash"]),
        ("graded", ["line 5", "not 0 or 1"]),
    ],
)
def test_a_log_that_does_not_match_the_benchmark_is_refused(kind, words, bench, tmp_path) -> None:
    path = write(tmp_path, bench, _damaged(kind, _rows(bench)))
    with pytest.raises(InputError) as error:
        read_samples(path, bench[0])
    for word in words:
        assert word in str(error.value), (kind, str(error.value))


def test_several_filters_need_a_choice_and_means_must_agree(bench, tmp_path: Path) -> None:
    path = write(tmp_path, bench)
    with pytest.raises(InputError, match="flexible-extract, strict-match.*--filter"):
        read_samples(path, bench[0])
    with pytest.raises(InputError, match="no filter 'strict'"):
        read_samples(path, bench[0], filter_name="strict")
    write(tmp_path, bench, mean=0.9)
    with pytest.raises(InputError, match="reports 0.900000: the files are of different runs"):
        read_samples(path, bench[0], filter_name="strict-match")
    path.write_text(path.read_text() + "{not json\n")
    with pytest.raises(InputError, match="line 13: not JSON"):
        read_samples(path, bench[0], filter_name="strict-match")


def test_run_scores_the_candidate_from_the_log(bench, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from auditor.cli import app
    from tests.models import tiny_gpt2

    path = write(tmp_path, bench)
    model = tiny_gpt2(tmp_path / "gpt2")
    args = ["run", "--model", str(model), "--bench", str(bench[1]), "--candidate-samples",
            str(path), "--filter", "flexible-extract", "--format", "json", "-q"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["candidate"]["accuracy"] == pytest.approx(5 / 6)
    assert "lm-evaluation-harness samples" in report["candidate"]["how"]
    refused = CliRunner().invoke(app, args[:-5] + ["--format", "json"])
    assert refused.exit_code == 2 and "--filter" in refused.output
