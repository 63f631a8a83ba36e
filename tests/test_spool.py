"""Corpora spooled to disk (`auditor.loading.spool`): the rows read back from the file are the
dataset's rows, whatever the slice; the file goes when its corpus goes, and only then."""

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.loading import load_corpus, spool


def _jsonl(path: Path, count: int, bad_line: int | None = None) -> Path:
    lines = [json.dumps({"text": f"document {i}", "label": "ab"[i % 2]}) for i in range(count)]
    if bad_line is not None:
        lines[bad_line] = "{not json"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_slices_across_batch_boundaries_are_the_datasets_rows(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(spool, "BATCH_ROWS", 7)
    corpus = load_corpus(str(_jsonl(tmp_path / "d.jsonl", 45)))
    assert len(corpus.spool.offsets) == 7  # 6 full batches and a last one of 3 rows
    expected = corpus.dataset.to_dict()
    for start, size in [(0, 7), (3, 7), (6, 2), (5, 30), (40, 10), (44, 1), (45, 5), (0, 100)]:
        batch = corpus.batch_at(start, size)
        assert batch.texts == expected["text"][start : start + size]
        assert batch.ids == expected["id"][start : start + size]
        assert batch.labels == expected["label"][start : start + size]
    streamed = [text for batch in corpus.batches(4) for text in batch.texts]
    assert streamed == expected["text"] == [f"document {i}" for i in range(45)]


def test_rows_fetched_by_index_are_the_datasets_rows(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(spool, "BATCH_ROWS", 7)
    corpus = load_corpus(str(_jsonl(tmp_path / "d.jsonl", 45)))
    wanted = [44, 0, 6, 7, 13, 14, 20, 3, 7, 40]  # unordered, repeated, at batch edges
    assert corpus.texts_at(wanted) == {row: f"document {row}" for row in wanted}
    assert corpus.texts_at([]) == {}


def test_the_file_goes_with_its_corpus_and_not_with_a_forked_copy(tmp_path) -> None:
    corpus = load_corpus(str(_jsonl(tmp_path / "d.jsonl", 20)))
    path = corpus.spool.path
    assert path.parent == spool.spool_dir() and path.is_file()
    child = os.fork()
    if child == 0:  # a worker that drops its inherited copy must leave the parent's file
        del corpus
        gc.collect()
        os._exit(0)
    os.waitpid(child, 0)
    assert path.is_file()
    assert corpus.texts_at([3]) == {3: "document 3"}
    del corpus
    gc.collect()
    assert not path.exists()


def test_a_failed_load_leaves_no_file(tmp_path, monkeypatch) -> None:
    from auditor.loading import build

    monkeypatch.setattr(build, "CHUNK_ROWS", 5)  # the bad line comes after chunks were written
    before = set(spool.spool_dir().glob("*.arrow")) if spool.spool_dir().is_dir() else set()
    with pytest.raises(InputError, match=r"d\.jsonl:150: malformed JSON"):  # past the sample
        load_corpus(str(_jsonl(tmp_path / "d.jsonl", 200, bad_line=149)))
    assert set(spool.spool_dir().glob("*.arrow")) == before


def test_files_of_killed_processes_on_this_host_are_removed(tmp_path) -> None:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)  # fmt: skip
    dead = int(finished.stdout)
    folder = spool.spool_dir()
    folder.mkdir(parents=True, exist_ok=True)
    host = spool._HOST
    orphan = folder / f"{host}-{dead}-0.arrow"
    other_host = folder / f"{host}x-{dead}-0.arrow"
    alive = folder / f"{host}-{os.getppid()}-0.arrow"
    for path in (orphan, other_host, alive):
        path.write_bytes(b"")
    load_corpus(str(_jsonl(tmp_path / "d.jsonl", 3)))
    assert not orphan.exists()
    assert other_host.exists() and alive.exists()
    other_host.unlink()
    alive.unlink()
