"""`typicality`: how in-distribution each benchmark item is, relative to the training data.

For a point z, d(z) is the mean cosine distance (1 − cosine) from z to its `k` nearest neighbours
in a seeded sample R of the training corpus (`max_train` items). Each training item r in R gets
the same statistic against R without itself (leave-one-out). A benchmark item's typicality is its
conformal p-value among them:

    typicality(x) = (1 + #{r in R : d(r) >= d(x)}) / (1 + |R|)

so 1.0 means closer to its training neighbours than any training item is to its own, and values
near 0 mean farther out than every training item; for items drawn from the training distribution
it is uniform on (0, 1]. An item is flagged outside the training support when its distance exceeds
the `coverage`-quantile of the training distances (default 0.95, the "kNN radius"), and the
set-level coverage is the fraction of benchmark items inside that radius (about 0.95 when the
benchmark is drawn from the training distribution).

Once `audit index build` has embedded the corpus (with this encoder, in this cache folder), R is
the whole corpus: each benchmark item's k nearest neighbours are searched among every training
document (`auditor.knn`: exact up to 200k documents, an IVF index with measured recall above),
and the reference distances come from a larger seeded sample of `index_sample` training items,
each searched against the whole corpus minus itself. The result says which reference it used.
"""

from typing import ClassVar

import numpy as np

from auditor.knn import KnnIndex, find_knn
from probes.base import ItemScore, ProbeResult, SetTest, TrainBatch
from probes.neighbours import StreamingTopK
from probes.twosample import SampleScan, TwoSampleProbe, sample_rows


def knn_distance(
    queries: np.ndarray, reference: np.ndarray, k: int, leave_one_out: bool
) -> np.ndarray:
    """Mean cosine distance from each query to its k nearest reference rows."""
    neighbours = StreamingTopK(queries, k + 1 if leave_one_out else k)
    neighbours.add(reference, 0)
    similarity, index = neighbours.result()
    if leave_one_out:  # drop each query's own row (queries are the reference itself)
        own = index == np.arange(len(queries))[:, None]
        drop = np.where(own.any(axis=1), own.argmax(axis=1), k)
        keep = np.ones_like(own)
        keep[np.arange(len(queries)), drop] = False
        similarity = similarity[keep].reshape(len(queries), k)
    return (1.0 - similarity).mean(axis=1)


class TypicalityProbe(TwoSampleProbe):
    name: ClassVar[str] = "typicality"
    requires: ClassVar[frozenset[str]] = frozenset({"embeddings"})
    provides: ClassVar[frozenset[str]] = frozenset({"in_distribution"})
    statistic_key: ClassVar[str] = "coverage"
    statistic_label: ClassVar[str] = "coverage"
    no_p_value: ClassVar[str] = "coverage describes the benchmark; it is not a test"
    bounds: ClassVar[dict[str, tuple[float | None, float | None]]] = {
        "k": (1, None), "coverage": (0, 1), "max_train": (2, None), "index_sample": (2, None),
    }  # fmt: skip

    def __init__(
        self,
        *,
        k: int = 10,
        coverage: float = 0.95,
        max_train: int = 2000,
        index_sample: int = 10_000,
        seed: int = 0,
        model: str = "minilm",
    ) -> None:
        self.k = k
        self.coverage = coverage
        self.max_train = max_train
        self.index_sample = index_sample
        self.seed = seed
        self.model = model

    def explain(self, test: SetTest, rejected: bool | None) -> str:
        if test.skipped:
            return super().explain(test, rejected)
        sampled = test.details["train_sample"]
        if test.details.get("reference") == "whole corpus":
            against = f"the whole corpus ({test.details['corpus_items']:,} documents)"
        elif sampled < self.max_train:  # the corpus is smaller than the sample
            against = f"all {sampled:,} training items"
        else:
            against = f"a sample of {sampled:,} training items"
        return f"{test.statistic:.0%} of benchmark items inside the kNN radius of {against}"

    def start_scan(self) -> "TypicalityScan":
        self._check_fitted()
        return TypicalityScan(self)

    def evaluate(self, train: np.ndarray) -> ProbeResult:
        """Against the training sample `train`: R is the sample."""
        bench = self.bench_embeddings_
        if len(train) < 2:
            items = [ItemScore(0.0, False) for _ in range(len(bench))]
            test = {"coverage": None, "skipped": "fewer than 2 training items"}
            return self.result(items, test=test)
        k = min(self.k, len(train) - 1)
        reference = knn_distance(train, train, k, leave_one_out=True)
        distance = knn_distance(bench, train, k, leave_one_out=False)
        return self._conformal(reference, distance, k, {"train_sample": len(train),
                                                        "reference": "training sample"})

    def evaluate_whole(self, index: KnnIndex, sample: np.ndarray, rows: np.ndarray) -> ProbeResult:
        """Against the whole corpus through its index: the benchmark's neighbours among every
        document, the reference distances of the sampled training items (corpus `rows`) among
        every document but themselves."""
        k = min(self.k, index.documents - 1)
        similarity, found = index.search(sample, k + 1)
        own = found == rows[:, None]
        drop = np.where(own.any(axis=1), own.argmax(axis=1), k)  # else the farthest of k + 1
        keep = np.ones_like(own)
        keep[np.arange(len(rows)), drop] = False
        reference = (1.0 - similarity[keep].reshape(len(rows), k)).mean(axis=1)
        # Exact for the benchmark: the index's recall was measured on corpus members.
        distance = (1.0 - index.search_exact(self.bench_embeddings_, k)[0]).mean(axis=1)
        return self._conformal(reference, distance, k, {
            "train_sample": len(rows), "reference": "whole corpus",
            "corpus_items": index.documents, "index": index.describe(),
            "index_recall_at_10": index.recall_at_10,
        })  # fmt: skip

    def _conformal(self, reference: np.ndarray, distance: np.ndarray, k: int,
                   about: dict) -> ProbeResult:  # fmt: skip
        reference = np.sort(reference)
        at_least = len(reference) - np.searchsorted(reference, distance, side="left")
        typicality = (1 + at_least) / (1 + len(reference))
        radius = float(np.quantile(reference, self.coverage))
        inside = distance <= radius
        items = [ItemScore(float(t), not bool(i)) for t, i in zip(typicality, inside, strict=True)]
        test = {
            "coverage": float(inside.mean()) if len(inside) else None,
            "radius": radius,
            "k": k,
            "median_typicality": float(np.median(typicality)) if len(typicality) else None,
            **about,
        }
        info = {"score": "conformal p-value of the mean cosine distance to the k nearest "
                "training items; flagged = outside the training kNN radius"}  # fmt: skip
        return self.result(items, info=info, test=test)


class TypicalityScan(SampleScan):
    """With an index of the corpus, only which rows are the reference sample (`index_sample` of
    them): their embeddings are read from the index at the end, whatever this pass's batches."""

    probe: TypicalityProbe

    def __init__(self, probe: TypicalityProbe) -> None:
        super().__init__(probe)
        self.index: KnnIndex | None = None
        self.looked = False

    def absorb(self, batch: TrainBatch, prepared: None) -> None:
        if not self.looked:
            self.looked = True
            self.index = find_knn(self.probe.encoder_, batch.corpus_fingerprint, batch.corpus_size)
            if self.index is not None and self.index.documents < 2:
                self.index = None  # no neighbour but itself: the sample path says so
            if self.index is not None:
                probe = self.probe
                self.rows = sample_rows(batch.corpus_size, probe.index_sample, probe.seed)
        if self.index is None:
            super().absorb(batch, prepared)

    def finish(self) -> ProbeResult:
        if self.index is None:
            return super().finish()
        sample = self.index.embeddings_of(self.rows)
        return self.probe.evaluate_whole(self.index, sample, self.rows)
