"""Atomic cache writes and embedding reuse."""

import os
from pathlib import Path

import numpy as np
import pytest

from auditor import cache
from auditor.embeddings import Encoder


def test_failed_write_leaves_old_file_and_no_temporaries(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "sub" / "value.npy"
    cache.save_array(target, np.arange(3))

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # a run killed between writing and renaming

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        cache.save_array(target, np.arange(5))
    assert cache.load_array(target).tolist() == [0, 1, 2]
    assert [p.name for p in target.parent.iterdir()] == ["value.npy"]


def test_corrupt_cache_entry_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "torn.npy"
    path.write_bytes(b"\x93NUMPY garbage")
    assert cache.load_array(path) is None


def test_embeddings_are_reused_from_cache(tmp_path: Path, monkeypatch) -> None:
    encoder = Encoder("minilm", cache_dir=tmp_path)
    texts = ["a question about apples", "another about pears"]
    first = encoder.encode_cached(texts, "fp", 0)
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    monkeypatch.setattr(encoder, "encode", lambda texts: pytest.fail("recomputed"))
    np.testing.assert_array_equal(encoder.encode_cached(texts, "fp", 0), first)
    files = list(tmp_path.rglob("*.npy"))
    assert len(files) == 1 and files[0].name == "0-2.npy"
