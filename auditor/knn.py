"""Nearest neighbours among a whole training corpus's embeddings, for `audit index build`.

The typicality probe asks how far each benchmark item lies from its k nearest training documents.
Without an index it can only ask "from a seeded sample of 2,000 documents"; once `audit index
build` has embedded the corpus, this module answers against every document. Two searches, by
corpus size (the choice and its parameters go into the index's manifest):

- **exact** (up to `EXACT_MAX` documents): the cached batch embeddings (the index's own files)
  stream through `faiss.knn` (inner product: cosine, as the rows are L2-normalised) and the
  partial top-k lists merge in a `faiss.ResultHeap`. Exact, and memory is one batch beside the
  queries. On this project's 2-core machine faiss's flat search and torch's matmul + top-k
  (`probes.neighbours`) are within 1.5x of each other, either way round with the machine's load
  (1,319 queries x 115k vectors: faiss 0.51-0.64 s vs torch 0.80-0.91 s idle; 3.2 vs 2.3 s
  under load); faiss is used here so that the exact and the IVF search are one library.
- **ivf** (above): an `IndexIVFFlat` (inner product) with `nlist = sqrt(n)` lists and an HNSW
  graph over the centroids as coarse quantizer (`IndexHNSWFlat`, M = 32), trained on a seeded
  sample of `40 nlist` documents (faiss asks for at least 39 a list; k-means on 2 cores is the
  build's cost, linear in nlist and in the sample), written to `knn.faiss` and read memory-
  mapped, so a search touches the probed lists only. `nprobe` is the smallest power of two from
  8 whose recall@10 against the exact search reaches `TARGET_RECALL` on `RECALL_QUERIES` seeded
  corpus documents (each searched for its neighbours other than itself); the measured recall is
  recorded. That recall holds for queries drawn from the corpus (the typicality probe's
  reference sample); queries from elsewhere fall between lists more often (measured on clustered
  synthetic vectors: 0.91 for points off the corpus's clusters where members gave 1.0), so
  benchmark items are always searched exactly: a benchmark is thousands of items, the cost is
  one streamed pass. Vectors stay uncompressed (4 bytes a dimension on disk): PQ codes would
  need a re-ranking pass to keep recall at 0.95.
"""

import contextlib
import json
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from auditor.cache import CHECKSUM_SUFFIX, load_array
from auditor.errors import InputError

if TYPE_CHECKING:
    from auditor.embeddings import Encoder

EXACT_MAX = 200_000
"""Documents up to which the search is exact. Measured on 2 cores (`benchmarks/knn.py`): 10,000
queries take 7.5 s exactly over 200k documents (2.6 s through an IVF index) and 54 s over 1M
(5.2 s through the index, built in 22 s): exact costs grow with the corpus, the index's far less."""
TARGET_RECALL = 0.95
RECALL_QUERIES = 500
RECALL_K = 10
INDEX_FILE = "knn.faiss"


@dataclass(frozen=True)
class KnnIndex:
    """How a corpus's embeddings are searched: what `index.json` records under `knn`."""

    kind: str
    """"exact" or "ivf"."""
    documents: int
    dimension: int
    batch_size: int
    """Rows per cached embedding file (`{start}-{count}.npy` in `folder`)."""
    folder: str
    nlist: int | None = None
    nprobe: int | None = None
    hnsw_m: int | None = None
    recall_at_10: float | None = None
    """Measured against the exact search (1.0 for the exact index itself)."""
    recall_queries: int | None = None
    build_seconds: float | None = None

    def describe(self) -> str:
        if self.kind == "exact":
            return f"exact search over all {self.documents:,} documents"
        return (f"IVF index over all {self.documents:,} documents (nlist {self.nlist}, nprobe "
                f"{self.nprobe}, measured recall@10 {self.recall_at_10:.3f})")  # fmt: skip

    def to_dict(self) -> dict:
        return asdict(self)

    def batches(self):
        """`(start, embeddings)` of every cached batch, in corpus order."""
        for start in range(0, self.documents, self.batch_size):
            count = min(self.batch_size, self.documents - start)
            array = load_array(Path(self.folder) / f"{start}-{count}.npy")
            if array is None:
                raise InputError(
                    f"{Path(self.folder) / f'{start}-{count}.npy'}: an index file is missing or "
                    "does not match its checksum. Rerun `audit index build` on this corpus."
                )
            yield start, array

    def embeddings_of(self, rows: np.ndarray) -> np.ndarray:
        """The embeddings of sorted corpus `rows`, read batch by batch."""
        parts = []
        for start, embeddings in self.batches():
            inside = rows[(rows >= start) & (rows < start + len(embeddings))]
            if len(inside):
                parts.append(embeddings[inside - start])
        return np.concatenate(parts).astype(np.float32)

    def files(self) -> list[Path]:
        """Every file the search reads: the batches' arrays and checksums, the IVF index."""
        folder, paths = Path(self.folder), []
        for start in range(0, self.documents, self.batch_size):
            name = f"{start}-{min(self.batch_size, self.documents - start)}.npy"
            paths += [folder / name, folder / f"{name}{CHECKSUM_SUFFIX}"]
        return paths + ([folder / INDEX_FILE] if self.kind == "ivf" else [])

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Cosine similarities and corpus rows of each query's `k` nearest documents, best
        first (rows -1 where the corpus has fewer than k): through the IVF index when there is
        one. Its recall was measured on queries drawn from the corpus; for queries from
        elsewhere (benchmark items) use `search_exact`."""
        if self.kind == "exact":
            return self.search_exact(queries, k)
        import faiss

        index = faiss.read_index(str(Path(self.folder) / INDEX_FILE), faiss.IO_FLAG_MMAP)
        _set_nprobe(index, self.nprobe)
        return index.search(np.ascontiguousarray(queries, dtype=np.float32), k)

    def search_exact(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """`search` by streaming every cached batch (exact; memory: one batch)."""
        import faiss

        queries = np.ascontiguousarray(queries, dtype=np.float32)
        heap = faiss.ResultHeap(len(queries), k, keep_max=True)
        for start, embeddings in self.batches():
            found = faiss.knn(queries, embeddings, min(k, len(embeddings)),
                              metric=faiss.METRIC_INNER_PRODUCT)  # fmt: skip
            similarity, rows = _pad(*found, k)
            heap.add_result(similarity, np.where(rows >= 0, rows + start, -1))
        heap.finalize()
        return heap.D, heap.I


def find_knn(encoder: "Encoder", fingerprint: str, documents: int) -> KnnIndex | None:
    """The index `audit index build` recorded for this encoder and corpus, if it is whole (every
    file present) and of this corpus's size; else None (the probes then use a sample)."""
    folder = encoder.corpus_dir(fingerprint)
    try:
        recorded = json.loads((folder / "index.json").read_text(encoding="utf-8"))["knn"]
        index = replace(KnnIndex(**recorded), folder=str(folder))  # the cache may have moved
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if index.documents != documents or not all(path.is_file() for path in index.files()):
        return None
    return index


def _pad(similarity: np.ndarray, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    missing = k - similarity.shape[1]
    if missing <= 0:
        return similarity, rows
    similarity = np.pad(similarity, ((0, 0), (0, missing)), constant_values=-np.inf)
    return similarity, np.pad(rows, ((0, 0), (0, missing)), constant_values=-1)


def _set_nprobe(index, nprobe: int) -> None:
    import faiss

    index.nprobe = nprobe
    quantizer = faiss.downcast_index(index.quantizer)
    quantizer.hnsw.efSearch = max(64, 2 * nprobe)


def build_knn(folder: Path, documents: int, dimension: int, batch_size: int,
              seed: int = 0, exact_max: int = EXACT_MAX) -> KnnIndex:  # fmt: skip
    """The search over the cached batch embeddings in `folder`: exact up to `exact_max`
    documents, else an IVF index built, tuned to `TARGET_RECALL` and written beside them."""
    started = time.perf_counter()
    exact = KnnIndex("exact", documents, dimension, batch_size, str(folder), recall_at_10=1.0)
    if documents <= exact_max:
        return exact
    import faiss

    rng = np.random.default_rng(seed)
    nlist = max(1, round(np.sqrt(documents)))
    sampled = np.sort(rng.choice(documents, min(documents, 40 * nlist), replace=False))
    training = exact.embeddings_of(sampled)
    quantizer = faiss.IndexHNSWFlat(dimension, 32, faiss.METRIC_INNER_PRODUCT)
    index = faiss.IndexIVFFlat(quantizer, dimension, nlist, faiss.METRIC_INNER_PRODUCT)
    index.train(training)
    for _, embeddings in exact.batches():
        index.add(embeddings)
    _write_index(index, folder / INDEX_FILE)
    picked = np.sort(rng.choice(documents, min(documents, RECALL_QUERIES), replace=False))
    queries = exact.embeddings_of(picked)
    truth = _others(exact.search_exact(queries, RECALL_K + 1)[1], picked, RECALL_K)
    nprobe, recall = 8, 0.0
    while True:
        _set_nprobe(index, nprobe)
        found = _others(index.search(queries, RECALL_K + 1)[1], picked, RECALL_K)
        shared = [len(set(a) & set(b)) for a, b in zip(found, truth, strict=True)]
        recall = float(np.mean(shared)) / RECALL_K
        if recall >= TARGET_RECALL or nprobe >= nlist:
            break
        nprobe = min(2 * nprobe, nlist)
    return KnnIndex("ivf", documents, dimension, batch_size, str(folder), nlist=nlist,
                    nprobe=nprobe, hnsw_m=32, recall_at_10=round(recall, 4),
                    recall_queries=len(picked),
                    build_seconds=round(time.perf_counter() - started, 2))  # fmt: skip


def _others(rows: np.ndarray, own: np.ndarray, k: int) -> list[list[int]]:
    """Each query's first `k` neighbours other than its own row."""
    pairs = zip(rows.tolist(), own.tolist(), strict=True)
    return [[row for row in found if row != mine][:k] for found, mine in pairs]


def _write_index(index, path: Path) -> None:
    """faiss writes by path: to a temporary name in the folder, then renamed (atomic)."""
    import faiss

    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        faiss.write_index(index, str(temporary))
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
