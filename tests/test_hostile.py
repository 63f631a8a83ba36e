"""A hostile trial of every command: bad files and bad options each exit 2, name what is wrong,
and print no traceback (issue 14).

Each row of `CASES` is a command line whose `{name}` placeholders are tiny files written by the
`files` fixture, and the words its message must contain. Every case fails before any model is
loaded or audit run (a few read a tiny file first). The property tests feed random bytes and
random JSON to the loader: whatever the file holds, loading ends in a corpus or an `InputError`,
never in another exception (exit 3).
"""

import gzip
import json
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from auditor.cli import app
from auditor.errors import InputError
from auditor.loading import load_corpus

GOLDEN = Path(__file__).parent / "golden"
runner = CliRunner()

_GZ = gzip.compress(b'{"text": "hello there world"}\n' * 50)
_DEEP = "[" * 100_000 + "]" * 100_000

FILES: dict[str, bytes | str] = {
    "good.jsonl": '{"text": "a b c d", "label": "x"}\n{"text": "e f g h", "label": "y"}\n',
    "choices_int.jsonl": '{"text": "Which is it?", "choices": 3}\n',
    "cut.jsonl.gz": _GZ[: len(_GZ) // 2],
    "crc.jsonl.gz": _GZ[:-8] + b"\0" * 8,
    "secret_gzip.jsonl": _GZ,
    "surrogate.jsonl": '{"text": "x \\ud800 y"}\n',
    "deep.jsonl": '{"text": "x", "a": ' + _DEEP + "}\n",
    "deep.json": "[" + _DEEP + "]",
    "huge_int.jsonl": '{"text": "x", "label": ' + "9" * 5000 + "}\n",
    "text_object.jsonl": '{"text": {"a": "b"}}\n',
    "text_bool.jsonl": '{"text": true}\n',
    "text_nested.jsonl": '{"text": [["a"], ["b"]]}\n',
    "label_list.jsonl": '{"text": "a b", "label": [1, 2]}\n',
    "all_bad.jsonl": "not json\n{broken\n",
    "unterminated.jsonl": '{"text": "abc\n',
    "array_line.jsonl": "[1, 2]\n",
    "numbers.json": "[1, 2, 3]",
    "open_quote.csv": 'text,label\n"a b c,x\n',
    "ragged.tsv": "text\tlabel\na\tb\tc\n",
    "label_only.all": "5 How far is it from Denver to Aspen ?\n3\n",
    "bom16.jsonl": '{"text": "x y"}\n'.encode("utf-16"),
    "latin1.jsonl": '{"text": "caf\xe9"}\n'.encode("latin-1"),
    "fake.parquet": b"PAR1 not really PAR1",
    "empty.txt": "",
    "long.txt": "x" * 50 + "\n",
    "data.xml": "<a/>",
    "bad.toml": "[rules\n",
    "policy_true.toml": "[rules]\nmax_flagged_fraction = true\n",
    "policy_five.toml": "[rules]\nmax_flagged_fraction = 5\n",
    "policy_nan.toml": "[rules]\nmax_drift_score = nan\n",
    "policy_string.toml": '[rules]\nmax_clean_gap = "0.1"\n',
    "policy_negative.toml": "[rules]\nmax_exact_duplicates = -1\n",
    "policy_float_count.toml": "[rules]\nmax_exact_duplicates = 2.5\n",
    "policy_typo.toml": "[rules]\nmax_flaged_fraction = 0.1\n",
    "policy_bool.toml": "fail_on_warnings = 1\n",
    "list.json": "[]",
    "binary.json": b"\xff\xfe\x00\x01",
    "incomplete.json": '{"report": "run", "schema_version": 4}',
}


def _report_variants(folder: Path) -> None:
    """Copies of the golden run report, each damaged in one way, and its overlap part."""
    text = (GOLDEN / "run_report.json").read_text()
    data = json.loads(text)
    (folder / "run.json").write_text(text)
    old = dict(data, schema_version=1)
    (folder / "old.json").write_text(json.dumps(old))
    (folder / "nan.json").write_text(text.replace('"fraction": ', '"fraction": NaN, "x": ', 1))
    negative = json.loads(text)
    negative["overlap"]["summary"]["flagged"] = -3
    (folder / "negative.json").write_text(json.dumps(negative))
    disagree = json.loads(text)
    disagree["overlap"]["summary"]["flagged"] += 1
    (folder / "disagree.json").write_text(json.dumps(disagree))
    (folder / "overlap.json").write_text(json.dumps(data["overlap"]))


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    for name, content in FILES.items():
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", errors="surrogatepass")
    (folder / "dir").mkdir()
    _report_variants(folder)
    return folder


G = "{good.jsonl}"
OVERLAP = ["overlap", "--train", G, "-p", "exact", "--bench"]
ALL = ["overlap", "--train", G, "--bench", G]
SHIFT = ["shift", "--train", G, "--bench", G]
CONTROL = ["control", "--base", "minilm", "--train", G, "--bench", G]
RUN = ["run", "--model", "minilm", "--bench", G]
GATE = ["gate", "{run.json}", "--policy"]

# (id, command line, words the message must hold, extra environment)
# fmt: off
CASES = [
    # -- data files: decompression, decoding, parsing ------------------------------------------
    ("gzip-cut-short", OVERLAP + ["{cut.jsonl.gz}"], ["cut.jsonl.gz", "gzip"]),
    ("gzip-bad-crc", OVERLAP + ["{crc.jsonl.gz}"], ["crc.jsonl.gz", "CRC"]),
    ("gzip-without-suffix", OVERLAP + ["{secret_gzip.jsonl}"], ["secret_gzip.jsonl", ".gz"]),
    ("lone-surrogate", OVERLAP + ["{surrogate.jsonl}"], ["surrogate.jsonl:1", "\\ud800"]),
    ("choices-not-a-list", OVERLAP + ["{choices_int.jsonl}"],
     ["choices_int.jsonl:1", "'choices' holds int", "a list"]),
    ("deep-nesting-jsonl", OVERLAP + ["{deep.jsonl}"], ["deep.jsonl:1", "nested too deeply"]),
    ("deep-nesting-json", OVERLAP + ["{deep.json}"], ["deep.json", "nested too deeply"]),
    ("5000-digit-label", OVERLAP + ["{huge_int.jsonl}"], ["huge_int.jsonl:1", "too long"]),
    ("text-is-object", OVERLAP + ["{text_object.jsonl}"], ["text_object.jsonl:1", "'text'"]),
    ("text-is-bool", OVERLAP + ["{text_bool.jsonl}"], ["text_bool.jsonl:1", "boolean"]),
    ("text-is-nested-list", OVERLAP + ["{text_nested.jsonl}"], ["text_nested.jsonl:1", "list"]),
    ("label-is-list", OVERLAP + ["{label_list.jsonl}"], ["label_list.jsonl:1", "label field"]),
    ("skip-bad-lines-skips-all", OVERLAP + ["{all_bad.jsonl}", "--skip-bad-lines"],
     ["all_bad.jsonl", "skipped 2 bad lines"]),
    ("unterminated-json", OVERLAP + ["{unterminated.jsonl}"],
     ["unterminated.jsonl:1", "starting at column 10"]),
    ("array-line", OVERLAP + ["{array_line.jsonl}"], ["array_line.jsonl:1", "JSON array"]),
    ("json-array-of-numbers", OVERLAP + ["{numbers.json}"], ["numbers.json item 0"]),
    ("csv-quote-left-open", OVERLAP + ["{open_quote.csv}"], ["open_quote.csv:2", "cut short"]),
    ("tsv-ragged", OVERLAP + ["{ragged.tsv}"], ["ragged.tsv:2", "3 fields"]),
    ("label-text-without-text", OVERLAP + ["{label_only.all}"],
     ["label_only.all:2", "label '3' but no text"]),
    ("utf16-with-bom", OVERLAP + ["{bom16.jsonl}"], ["bom16.jsonl", "--encoding utf-16"]),
    ("latin1-as-utf8", OVERLAP + ["{latin1.jsonl}"], ["latin1.jsonl", "byte offset"]),
    ("fake-parquet", OVERLAP + ["{fake.parquet}"], ["fake.parquet", "Parquet"]),
    ("empty-file", OVERLAP + ["{empty.txt}"], ["empty.txt", "no items"]),
    ("line-over-limit", OVERLAP + ["{long.txt}", "--max-line-chars", "10"], ["long.txt:1"]),
    ("unknown-suffix", OVERLAP + ["{data.xml}"], ["data.xml", ".xml"]),
    ("missing-file", OVERLAP + ["nowhere/x.jsonl"], ["nowhere/x.jsonl", "no such file"]),
    ("unknown-card", OVERLAP + ["trek"], ["'trek'", "Did you mean"]),
    ("unknown-split", OVERLAP + ["trec:dev"], ["trec:dev", "no split"]),
    ("hub-offline", OVERLAP + ["hf:nobody/nothing"], ["hf:nobody/nothing", "HF_HUB_OFFLINE"]),
    ("unknown-encoding", OVERLAP + [G, "--encoding", "klingon"], ["'klingon'"]),
    # -- options of overlap --------------------------------------------------------------------
    ("shift-probe-in-overlap", ["overlap", "--train", G, "--bench", G, "-p", "mmd"],
     ["--probe mmd", "shift probe"]),
    ("unknown-probe", OVERLAP + [G, "-p", "ngrams"], ["ngrams", "ngram"]),
    ("param-no-equals", OVERLAP + [G, "--param", "ngram.n"], ["--param ngram.n", "NAME.KEY"]),
    ("param-unknown-key", ALL + ["--param", "ngram.size=3"], ["'size'", "it takes"]),
    ("param-wrong-type", ALL + ["--param", "minhash.threshold=high"], ["a number"]),
    ("param-out-of-range", ALL + ["--param", "minhash.threshold=5"],
     ["minhash.threshold", "outside [0.01, 1]"]),
    ("param-nan", ALL + ["--param", "embedding.threshold=nan"], ["embedding.threshold"]),
    ("param-ngram-n-below-min", ALL + ["--param", "ngram.n=2"], ["ngram.n", "min_n"]),
    ("param-of-a-probe-not-run", OVERLAP + [G, "--param", "minhash.threshold=0.3"],
     ["--param minhash.threshold=0.3", "--probe minhash"]),
    ("top-negative", OVERLAP + [G, "--top", "-1"], ["--top"]),
    ("ngram-n-zero", OVERLAP + [G, "--ngram-n", "0"], ["--ngram-n"]),
    ("minhash-threshold-2", OVERLAP + [G, "--minhash-threshold", "2"], ["--minhash-threshold"]),
    ("embedding-threshold-1.5", OVERLAP + [G, "--embedding-threshold", "1.5"],
     ["--embedding-threshold"]),
    ("device-tpu", OVERLAP + [G, "--device", "tpu"], ["--device", "tpu"]),
    ("out-is-folder", OVERLAP + [G, "--out", "{dir}"], ["--out", "folder"]),
    ("out-unknown-suffix", OVERLAP + [G, "--out", "{dir}/r.xyz"], [".xyz"]),
    ("out-under-a-file", OVERLAP + [G, "--out", G + "/r.json"], ["--out", "good.jsonl"]),
    ("cache-dir-under-a-file", OVERLAP + [G, "--cache-dir", G + "/cache"],
     ["--cache-dir", "is a file"]),
    ("cache-dir-is-a-file", OVERLAP + [G, "--cache-dir", G], ["--cache-dir", "not a folder"]),
    ("max-line-chars-zero", OVERLAP + [G, "--max-line-chars", "0"], ["--max-line-chars"]),
    # -- shift ---------------------------------------------------------------------------------
    ("alpha-zero", SHIFT + ["--alpha", "0"], ["--alpha"]),
    ("alpha-nan", SHIFT + ["--alpha", "nan"], ["--alpha"]),
    ("permutations-zero", SHIFT + ["--permutations", "0"], ["--permutations"]),
    ("max-train-one", SHIFT + ["--max-train", "1"], ["--max-train"]),
    ("overlap-probe-in-shift", SHIFT + ["-p", "exact"], ["--probe exact", "overlap probe"]),
    ("c2st-folds-one", SHIFT + ["-p", "c2st", "--param", "c2st.folds=1"], ["c2st.folds"]),
    # -- index build ---------------------------------------------------------------------------
    ("index-out-under-a-file", ["index", "build", G, "--out", G + "/idx"], ["--out", "is a file"]),
    ("index-missing-data", ["index", "build", "missing.jsonl"], ["missing.jsonl"]),
    ("index-batch-size-zero", ["index", "build", G, "--batch-size", "0"], ["--batch-size"]),
    # -- eval, control, run --------------------------------------------------------------------
    ("eval-batch-size-zero", ["eval", "--model", "minilm", "--bench", G, "--batch-size", "0"],
     ["--batch-size"]),
    ("eval-missing-bench", ["eval", "--model", "minilm", "--bench", "gone.jsonl"], ["gone.jsonl"]),
    ("eval-hub-model-offline", ["eval", "--model", "hf:nobody/nothing", "--bench", "trec:test"],
     ["hf:nobody/nothing", "config"]),
    ("eval-out-is-folder", ["eval", "--model", "minilm", "--bench", G, "--out", "{dir}"],
     ["--out", "folder"]),
    ("control-bad-init", CONTROL + ["--init", "random"], ["--init", "'random'"]),
    ("control-bad-budget", CONTROL + ["--init", "scratch", "--budget", "huge"], ["--budget"]),
    ("control-seeds-zero", CONTROL + ["--init", "scratch", "--seeds", "0"], ["--seeds"]),
    ("control-negative-lr", CONTROL + ["--init", "scratch", "--lr", "-1"], ["--lr"]),
    ("run-bad-budget", RUN + ["--budget", "huge"], ["--budget", "'huge'"]),
    ("run-unknown-control", RUN + ["--controls", "scratch,pretrained,oracle"],
     ["--controls", "'oracle'"]),
    ("run-control-missing", RUN + ["--controls", "scratch"], ["--controls", "pretrained"]),
    ("run-pretrain-without-control", RUN + ["--pretrain-steps", "5"],
     ["--pretrain-steps", "selfpretrained"]),
    ("run-unknown-probe", RUN + ["-p", "nope"], ["'nope'"]),
    ("run-out-unknown-suffix", RUN + ["--out", "{dir}/r.pdf"], [".pdf"]),
    # -- gate ----------------------------------------------------------------------------------
    ("gate-missing-report", ["gate", "{dir}/none.json"], ["none.json", "cannot read"]),
    ("gate-report-is-list", ["gate", "{list.json}"], ["list.json", "JSON list"]),
    ("gate-old-schema", ["gate", "{old.json}"], ["old.json", "schema_version 1"]),
    ("gate-report-nan", ["gate", "{nan.json}"], ["nan.json", "NaN"]),
    ("gate-negative-count", ["gate", "{negative.json}"], ["negative.json", "overlap.summary"]),
    ("gate-summary-disagrees", ["gate", "{disagree.json}"], ["disagree.json", "summary.flagged"]),
    ("gate-overlap-report", ["gate", "{overlap.json}"], ["overlap.json", "`audit run`"]),
    ("gate-incomplete-report", ["gate", "{incomplete.json}"], ["incomplete.json", "provenance"]),
    ("policy-bad-toml", GATE + ["{bad.toml}"], ["bad.toml", "TOML"]),
    ("policy-true", GATE + ["{policy_true.toml}"], ["rules.max_flagged_fraction", "True"]),
    ("policy-five", GATE + ["{policy_five.toml}"], ["rules.max_flagged_fraction", "1"]),
    ("policy-nan", GATE + ["{policy_nan.toml}"], ["rules.max_drift_score", "finite"]),
    ("policy-string", GATE + ["{policy_string.toml}"], ["rules.max_clean_gap", "'0.1'"]),
    ("policy-negative", GATE + ["{policy_negative.toml}"], ["rules.max_exact_duplicates"]),
    ("policy-fraction-count", GATE + ["{policy_float_count.toml}"], ["max_exact_duplicates"]),
    ("policy-misspelt", GATE + ["{policy_typo.toml}"], ["max_flaged_fraction", "Did you mean"]),
    ("policy-bool-as-int", GATE + ["{policy_bool.toml}"], ["fail_on_warnings"]),
    ("gate-junit-under-a-file", ["gate", "{run.json}", "--junit", G + "/gate.xml"],
     ["--junit", "is a file"]),
    ("gate-step-summary-under-a-file", ["gate", "{run.json}"], ["$GITHUB_STEP_SUMMARY"],
     {"GITHUB_STEP_SUMMARY": G + "/summary.md"}),
    # -- render, bench -------------------------------------------------------------------------
    ("render-binary", ["render", "{binary.json}"], ["binary.json", "not a JSON report"]),
    ("render-out-under-a-file", ["render", "{run.json}", "--out", G + "/r.md"], ["--out"]),
    ("render-bad-format", ["render", "{run.json}", "--format", "pdf"], ["--format"]),
    ("render-top-negative", ["render", "{run.json}", "--top", "-5"], ["--top"]),
    ("bench-show-unknown", ["bench", "show", "trek"], ["'trek'", "Did you mean"]),
    ("bench-list-bad-format", ["bench", "list", "--format", "xml"], ["--format"]),
]
# fmt: on


def _fill(arg: str, folder: Path) -> str:
    """`{name}` placeholders as paths in the fixture's folder (other braces left alone)."""
    return re.sub(r"\{([\w.]+)\}", lambda match: str(folder / match.group(1)), arg)


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_bad_input_exits_2_with_a_precise_message(case, files: Path) -> None:
    _, args, words, *rest = case
    env = {key: _fill(value, files) for key, value in (rest[0] if rest else {}).items()}
    result = runner.invoke(app, [_fill(arg, files) for arg in args], env=env)
    output = " ".join(result.output.split())  # rich wraps long messages
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    for word in words:
        assert _fill(word, files) in output, (word, result.output)


def test_the_table_covers_every_command() -> None:
    commands = {case[1][0] for case in CASES}
    assert len(CASES) >= 40
    assert {"overlap", "shift", "index", "eval", "control", "run", "gate", "render", "bench"} <= (
        commands
    )


# -- property tests: whatever a data file holds, loading never fails with a bug --------------

SUFFIXES = (".jsonl", ".json", ".csv", ".tsv", ".txt", ".all", ".jsonl.gz")
_scratch = Path(tempfile.mkdtemp(prefix="audit-hostile-"))
_PROPERTY = settings(max_examples=60, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])  # fmt: skip


def _load(data: bytes, suffix: str, **options) -> None:
    from auditor.loading import LoadOptions
    from auditor.loading.readers import ReadOptions

    path = _scratch / f"data{suffix}"
    path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
    try:
        corpus = load_corpus(str(path), LoadOptions(read=ReadOptions(**options)))
    except InputError as error:
        assert str(path) in str(error) or path.name in str(error)
        return
    assert len(corpus) >= 1 and all(isinstance(text, str) for text in corpus.texts)
    corpus.fingerprint  # every text encodes as UTF-8  # noqa: B018


@_PROPERTY
@given(data=st.binary(max_size=400), suffix=st.sampled_from(SUFFIXES), skip=st.booleans())
def test_random_bytes_never_crash_the_loader(data: bytes, suffix: str, skip: bool) -> None:
    _load(data, suffix, skip_bad_lines=skip)


_any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _any_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_any_text, inner, max_size=4),
    max_leaves=12,
)
records = st.dictionaries(st.sampled_from(["text", "label", "answer", "id", "choices", "q"]),
                          json_values, max_size=4)  # fmt: skip


@_PROPERTY
@given(rows=st.lists(records | json_values, min_size=1, max_size=5), as_lines=st.booleans())
def test_random_json_never_crashes_the_loader(rows: list, as_lines: bool) -> None:
    if as_lines:
        _load("\n".join(json.dumps(row) for row in rows).encode(), ".jsonl")
    else:
        _load(json.dumps(rows).encode(), ".json")
