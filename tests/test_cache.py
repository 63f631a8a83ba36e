"""Atomic cache writes, checksums on cached arrays, and embedding reuse."""

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
    assert sorted(p.name for p in target.parent.iterdir()) == ["value.npy", "value.npy.sha256"]


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


def test_array_without_its_checksum_or_rewritten_reads_as_absent(tmp_path: Path) -> None:
    path = tmp_path / "value.npy"
    cache.save_array(path, np.arange(4, dtype=np.float32))
    assert cache.load_array(path).tolist() == [0, 1, 2, 3]
    np.save(path, np.zeros(4, dtype=np.float32))  # same shape and dtype, other content
    assert cache.load_array(path) is None
    cache.save_array(path, np.arange(4, dtype=np.float32))
    cache.checksum_path(path).unlink()  # a run killed before the checksum was written
    assert cache.load_array(path) is None


def test_zeros_over_cached_embeddings_are_recomputed(tmp_path: Path) -> None:
    """A well-formed .npy of the right shape and dtype over a cached batch (here all zeros) used
    to be returned as the embeddings; the checksum catches it, and the batch is re-encoded and
    the cache repaired."""
    texts = ["a question about apples", "another about pears", "a third about plums"]
    encoder = Encoder("minilm", cache_dir=tmp_path)
    first = encoder.encode_cached(texts, "fp", 0)
    (path,) = tmp_path.rglob("0-3.npy")
    np.save(path, np.zeros_like(first))
    assert np.load(path).shape == first.shape and not np.load(path).any()
    again = encoder.encode_cached(texts, "fp", 0)
    fresh = Encoder("minilm", cache_dir=tmp_path / "fresh").encode(texts)
    np.testing.assert_allclose(again, fresh, atol=1e-6)
    assert np.abs(again).sum() > 0
    np.testing.assert_array_equal(cache.load_array(path), again)


def test_padding_to_bounded_shapes_leaves_embeddings_unchanged(tmp_path: Path) -> None:
    """Batches are padded to full size and lengths to a multiple of 8 (bounded shapes keep the
    kernels' caches, and memory, flat); the masked padding must not move an embedding."""
    short = "how many apples"
    long = "a much longer question about apples, pears and plums that fills its batch " * 3
    encoder = Encoder("minilm", cache_dir=tmp_path, batch_size=4)
    alone = encoder.encode([short])
    among = encoder.encode([long, short, long, long, short])
    assert among.shape == (5, alone.shape[1])
    # cosine, not elementwise: bf16 autocast (where native) rounds each element by ~1e-3
    assert float(among[1] @ alone[0]) > 0.9995 and float(among[4] @ alone[0]) > 0.9995
