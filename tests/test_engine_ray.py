"""`--engine ray` gives the local engine's report, item for item, on a real local Ray cluster
(two CPUs, started once for the module), and its input errors exit 2 before any data is read."""

import json
import logging
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import ray
from typer.testing import CliRunner

from auditor.cli import app
from auditor.loading import load_corpus

runner = CliRunner()


@pytest.fixture(scope="module")
def cluster():
    """A local 2-CPU Ray for the module: the commands find it connected and use it as it is."""
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             logging_level=logging.ERROR)  # fmt: skip
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> tuple[Path, Path]:
    """200 TREC training questions; a benchmark of 80 TREC test questions and 10 of the
    training ones (planted copies), as JSONL."""
    train = load_corpus("trec:train").texts[:200]
    bench = load_corpus("trec:test").texts[:80] + train[::20]
    folder = tmp_path_factory.mktemp("ray")
    paths = folder / "train.jsonl", folder / "bench.jsonl"
    for path, texts in zip(paths, (train, bench), strict=True):
        path.write_text("".join(json.dumps({"text": text}) + "\n" for text in texts))
    return paths


def report(files: tuple[Path, Path], cache: Path, *args: str) -> dict:
    train, bench = files
    command = ["overlap", "--train", str(train), "--bench", str(bench), "--format", "json", "-q"]
    result = runner.invoke(app, [*command, "--cache-dir", str(cache), *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def actors() -> Counter:
    """Actors the cluster has seen, by class (GCS's table: the state API needs a dashboard)."""
    return Counter(actor["ActorClassName"] for actor in ray._private.state.actors().values())


def test_hashing_probes_on_ray_match_the_local_engine(cluster, files, tmp_path: Path) -> None:
    probes = ["-p", "exact", "-p", "ngram", "-p", "minhash", "-p", "containment"]
    args = [*probes, "--batch-size", "16", "--null-size", "50"]  # 13 batches over 2 actors
    local = report(files, tmp_path / "local", *args)
    before = actors()
    on_ray = report(files, tmp_path / "ray", *args, "--engine", "ray")
    assert actors() - before == Counter(_Preparer=2)  # one per CPU: batches prepared on Ray
    assert on_ray == local
    assert local["summary"]["flagged"] >= 10  # the planted copies: a comparison of real verdicts
    exact = {item["index"] for item in local["items"] if item["probes"]["exact"]["flagged"]}
    assert exact >= set(range(80, 90))


def test_a_pass_with_the_encoder_matches_the_local_engine(cluster, files, tmp_path: Path) -> None:
    """The exact probe's work on preparer actors, the embedding probe's encoding (the benchmark's
    at fit, the corpus's windows in the pass) on encoder actors."""
    args = ["-p", "exact", "-p", "embedding", "--batch-size", "50", "--null-size", "50"]
    local = report(files, tmp_path / "local", *args)
    before = actors()
    on_ray = report(files, tmp_path / "ray", *args, "--engine", "ray")
    assert actors() - before == Counter(_Preparer=2, _Encoding=2)
    assert on_ray == local
    scores = [item["probes"]["embedding"]["score"] for item in local["items"]]
    assert min(scores[80:]) > 0.99 > min(scores[:80])


def test_index_build_on_ray_encoder_actors_writes_the_local_index(cluster, files, tmp_path):
    """The same arrays under the same cache keys: an index built on Ray is read as is."""
    train, _ = files
    arrays = {}
    for engine in ("local", "ray"):
        cache = tmp_path / engine
        result = runner.invoke(app, ["index", "build", str(train), "--cache-dir", str(cache),
                                     "--batch-size", "50", "--window", "16", "--no-sentences",
                                     "--format", "json", "-q", "--engine", engine])  # fmt: skip
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["batches_reused"] == 0
        arrays[engine] = {p.relative_to(cache): np.load(p) for p in cache.rglob("*.npy")}
    assert len(arrays["local"]) == 8  # 4 batches: documents and windows
    assert arrays["ray"].keys() == arrays["local"].keys()
    for key, local in arrays["local"].items():
        np.testing.assert_allclose(arrays["ray"][key], local, atol=1e-5)


def test_ray_address_without_the_ray_engine_is_an_input_error() -> None:
    result = runner.invoke(app, ["overlap", "--train", "missing.jsonl", "--bench", "trec",
                                 "--ray-address", "127.0.0.1:6379"])  # fmt: skip
    assert result.exit_code == 2
    assert "--ray-address" in result.output and "--engine ray" in result.output
    assert "missing.jsonl" not in result.output  # refused before any data is read


@pytest.mark.parametrize("command", [["overlap"], ["shift"], ["run", "--model", "minilm"]])
def test_the_ray_engine_without_ray_says_how_to_install_it(monkeypatch, command) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as if not installed
    result = runner.invoke(app, [*command, "--train", "missing.jsonl", "--bench", "trec",
                                 "--engine", "ray"])  # fmt: skip
    assert result.exit_code == 2
    assert "pip install 'audit[ray]'" in result.output
    assert "missing.jsonl" not in result.output


def test_index_build_without_ray_says_how_to_install_it(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    result = runner.invoke(app, ["index", "build", "missing.jsonl", "--engine", "ray"])
    assert result.exit_code == 2 and "pip install 'audit[ray]'" in result.output


def test_an_address_where_no_cluster_answers_is_an_input_error() -> None:
    result = runner.invoke(app, ["overlap", "--train", "missing.jsonl", "--bench", "trec",
                                 "--engine", "ray", "--ray-address", "127.0.0.1:1"])  # fmt: skip
    assert result.exit_code == 2 and "nothing answers" in result.output
