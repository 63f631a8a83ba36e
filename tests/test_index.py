"""`audit index build`: embeddings precomputed once, read by later audits without encoding."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.embeddings import Encoder
from auditor.loading import load_corpus
from auditor.skeleton import skeleton
from probes.alignment import sentence_skeletons

runner = CliRunner()


def write_jsonl(path: Path, corpus, count: int) -> Path:
    rows = zip(corpus.texts[:count], corpus.column("label")[:count], strict=True)
    path.write_text("".join(json.dumps({"text": t, "label": label}) + "\n" for t, label in rows))
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("index")
    train = write_jsonl(folder / "train.jsonl", load_corpus("trec:train"), 300)
    bench = write_jsonl(folder / "bench.jsonl", load_corpus("trec:test"), 40)
    return train, bench


def build(train: Path, cache: Path) -> dict:
    result = runner.invoke(app, ["index", "build", str(train), "--out", str(cache),
                                 "--batch-size", "128", "--window", "16", "--no-names",
                                 "--format", "json", "-q"])  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_index_embeds_every_batch_once(files, tmp_path: Path) -> None:
    train, _ = files
    first = build(train, tmp_path)
    assert (first["batches"], first["batches_reused"]) == (3, 0)  # 300 items in batches of 128
    folder = Path(first["directory"])
    assert sorted(p.name for p in folder.glob("*.npy")) == ["0-128.npy", "128-128.npy",
                                                            "256-44.npy"]  # fmt: skip
    assert json.loads((folder / "index.json").read_text())["corpus"]["items"] == 300
    assert build(train, tmp_path)["batches_reused"] == 3


def test_audits_read_the_index_instead_of_encoding_training_text(
    files, tmp_path: Path, monkeypatch
) -> None:
    train, bench = files
    plain = runner.invoke(app, ["overlap", "--train", str(train), "--bench", str(bench),
                                "--probe", "embedding", "--probe", "alignment", "--batch-size",
                                "128", "-f", "json", "-q",
                                "--fpr", "0", "--cache-dir", str(tmp_path / "plain")])  # fmt: skip
    assert plain.exit_code == 0, plain.output
    indexed_cache = tmp_path / "indexed"
    build(train, indexed_cache)
    encoded: list[str] = []
    original = Encoder.encode

    def recording(self, texts):
        encoded.extend(texts)
        return original(self, texts)

    monkeypatch.setattr(Encoder, "encode", recording)
    common = ["--train", str(train), "--bench", str(bench), "--batch-size", "128", "-f", "json",
              "-q", "--cache-dir", str(indexed_cache)]  # fmt: skip
    # --fpr 0: no null sample, whose training openings each audit encodes itself
    overlap = runner.invoke(app, ["overlap", "--probe", "embedding", "--probe", "alignment",
                                  "--fpr", "0", *common])  # fmt: skip
    shift = runner.invoke(app, ["shift", "--probe", "mmd", "--max-train", "100",
                                "--permutations", "20", *common])  # fmt: skip
    assert overlap.exit_code == 0 and shift.exit_code == 0, overlap.output + shift.output
    bench_texts = set(load_corpus(str(bench)).texts)
    # the probe embeds skeletons (numbers replaced; names kept: TREC's items are short)
    bench_texts |= {skeleton(text, names=False) for text in bench_texts}
    bench_texts |= set(sentence_skeletons(list(bench_texts), 64, names=False)[0])  # alignment
    assert encoded and set(encoded) <= bench_texts  # only the benchmark was encoded
    for probe in ("embedding", "alignment"):
        scores = [[i["probes"][probe]["score"] for i in json.loads(r.stdout)["items"]]
                  for r in (plain, overlap)]  # fmt: skip
        assert scores[0] == scores[1], probe


def test_index_of_missing_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["index", "build", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 2 and "nope.jsonl" in result.output


def test_index_build_takes_cache_dir_like_the_other_commands(files, tmp_path: Path) -> None:
    """`--cache-dir` names the same folder as `--out` (which still works), and is the name its
    errors give."""
    train, _ = files
    result = runner.invoke(app, ["index", "build", str(train), "--cache-dir", str(tmp_path / "c"),
                                 "--batch-size", "256", "-f", "json", "-q"])  # fmt: skip
    assert result.exit_code == 0, result.output
    folder = Path(json.loads(result.stdout)["directory"])
    assert folder.is_relative_to(tmp_path / "c") and (folder / "index.json").is_file()
    assert sorted(p.name for p in folder.glob("*.npy")) == ["0-256.npy", "256-44.npy"]
    blocker = tmp_path / "file"
    blocker.write_text("x")
    bad = runner.invoke(app, ["index", "build", str(train), "--cache-dir", str(blocker / "idx")])
    assert bad.exit_code == 2 and "--cache-dir" in bad.stderr and "is a file" in bad.stderr
