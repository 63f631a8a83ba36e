"""The whole-corpus nearest-neighbour search (`auditor.knn`) and the typicality probe on it.

Known answers: brute-force numpy top-k over all vectors; for the probe, the conformal p-values
recomputed here from the cached embeddings with numpy."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from auditor.cache import save_array
from auditor.cli import app
from auditor.embeddings import Encoder
from auditor.knn import KnnIndex, build_knn

runner = CliRunner()


def clustered(count: int, dimension: int, seed: int) -> np.ndarray:
    """Unit vectors around 50 centres: the cluster structure real sentence embeddings have."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((50, dimension))
    points = centres[rng.integers(0, 50, count)] + 0.6 * rng.standard_normal((count, dimension))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


def cache_batches(folder: Path, vectors: np.ndarray, batch_size: int) -> None:
    for start in range(0, len(vectors), batch_size):
        chunk = vectors[start : start + batch_size]
        save_array(folder / f"{start}-{len(chunk)}.npy", chunk)


def brute_force(queries: np.ndarray, corpus: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-(queries @ corpus.T), axis=1, kind="stable")[:, :k]


def test_exact_search_is_brute_force_across_batches(tmp_path: Path) -> None:
    corpus = clustered(1000, 32, seed=0)
    cache_batches(tmp_path, corpus, batch_size=96)  # k below and above the last batch (40 rows)
    index = build_knn(tmp_path, 1000, 32, 96)
    assert index.kind == "exact" and not (tmp_path / "knn.faiss").exists()
    queries = clustered(30, 32, seed=1)
    for k in (5, 50):
        similarity, rows = index.search(queries, k)
        assert (rows == brute_force(queries, corpus, k)).mean() > 0.99  # ties may swap
        assert np.allclose(similarity, np.take_along_axis(queries @ corpus.T, rows, axis=1),
                           atol=1e-5)  # fmt: skip


@pytest.mark.parametrize("seed", [0, 1])
def test_ivf_index_reaches_its_recorded_recall(tmp_path: Path, seed: int) -> None:
    points = clustered(20_300, 48, seed=seed)
    corpus, queries = points[:20_000], points[20_000:]  # fresh queries, not the tuning ones
    cache_batches(tmp_path, corpus, batch_size=4096)
    index = build_knn(tmp_path, 20_000, 48, 4096, exact_max=1000)
    assert index.kind == "ivf" and (tmp_path / "knn.faiss").is_file()
    assert index.recall_at_10 >= 0.95 and index.nlist == round(np.sqrt(20_000))
    found = index.search(queries, 10)[1]
    truth = brute_force(queries, corpus, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth, strict=True)])
    assert recall >= 0.93


def typicality(train: Path, bench: Path, cache: Path) -> dict:
    result = runner.invoke(app, ["shift", "--train", str(train), "--bench", str(bench), "-p",
                                 "typicality", "--cache-dir", str(cache), "-f", "json",
                                 "-q"])  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_typicality_measures_against_the_whole_indexed_corpus(tmp_path: Path) -> None:
    from auditor.loading import load_corpus
    from tests.test_index import build, write_jsonl

    train = write_jsonl(tmp_path / "train.jsonl", load_corpus("trec:train"), 300)
    bench = write_jsonl(tmp_path / "bench.jsonl", load_corpus("trec:test"), 40)
    sampled = typicality(train, bench, tmp_path / "plain")["tests"]["typicality"]["details"]
    assert sampled["reference"] == "training sample"
    manifest = build(train, tmp_path / "cache")
    assert manifest["knn"]["kind"] == "exact" and manifest["knn"]["documents"] == 300
    report = typicality(train, bench, tmp_path / "cache")
    test = report["tests"]["typicality"]
    assert test["details"]["reference"] == "whole corpus"
    assert "whole corpus (300 documents)" in test["verdict"]
    # The same numbers from numpy: leave-one-out distances of every training item (the
    # reference sample is all 300), each item's distance to its 10 nearest, conformal p-value.
    folder = Path(manifest["directory"])
    corpus = np.concatenate([np.load(folder / name) for name in ("0-128.npy", "128-128.npy",
                                                                  "256-44.npy")])  # fmt: skip
    encoder = Encoder(cache_dir=tmp_path / "cache")
    queries = encoder.encode([json.loads(line)["text"] for line in bench.read_text().splitlines()])
    inner = corpus @ corpus.T
    np.fill_diagonal(inner, -np.inf)
    reference = np.sort(1 - np.sort(inner, axis=1)[:, ::-1][:, :10], axis=1).mean(axis=1)
    distance = (1 - np.sort(queries @ corpus.T, axis=1)[:, ::-1][:, :10]).mean(axis=1)
    expected = [(1 + np.sum(reference >= d - 1e-6)) / 301 for d in distance]
    scores = [item["scores"]["typicality"] for item in report["items"]]
    assert np.allclose(scores, expected, atol=1 / 301)
    # A batch overwritten after the build fails the checksum: an input error naming the fix.
    damaged = folder / "0-128.npy"
    intact = damaged.read_bytes()
    damaged.write_bytes(intact[:-4] + bytes(4))
    broken = runner.invoke(app, ["shift", "--train", str(train), "--bench", str(bench),
                                 "-p", "typicality", "--cache-dir", str(tmp_path / "cache"),
                                 "-q"])  # fmt: skip
    assert broken.exit_code == 2 and "audit index build" in broken.output
    damaged.write_bytes(intact)
    # A damaged index (a batch file gone) is not trusted: back to the sample.
    (folder / "128-128.npy").unlink()
    again = typicality(train, bench, tmp_path / "cache")["tests"]["typicality"]["details"]
    assert again["reference"] == "training sample"
    shutil.rmtree(tmp_path / "cache")


def test_manifest_knn_round_trips() -> None:
    index = KnnIndex("ivf", 10, 4, 2, "/x", nlist=3, nprobe=8, hnsw_m=32, recall_at_10=0.97)
    assert KnnIndex(**json.loads(json.dumps(index.to_dict()))) == index
    assert "recall@10 0.970" in index.describe()
