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
"""

from typing import ClassVar

import numpy as np

from probes.base import ItemScore, ProbeResult, SetTest
from probes.neighbours import StreamingTopK
from probes.twosample import TwoSampleProbe


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
        "k": (1, None), "coverage": (0, 1), "max_train": (2, None),
    }  # fmt: skip

    def __init__(
        self,
        *,
        k: int = 10,
        coverage: float = 0.95,
        max_train: int = 2000,
        seed: int = 0,
        model: str = "minilm",
    ) -> None:
        self.k = k
        self.coverage = coverage
        self.max_train = max_train
        self.seed = seed
        self.model = model

    def explain(self, test: SetTest, rejected: bool | None) -> str:
        if test.skipped:
            return super().explain(test, rejected)
        return f"{test.statistic:.0%} of benchmark items inside the training kNN radius"

    def evaluate(self, train: np.ndarray) -> ProbeResult:
        bench = self.bench_embeddings_
        if len(train) < 2:
            items = [ItemScore(0.0, False) for _ in range(len(bench))]
            test = {"coverage": None, "skipped": "fewer than 2 training items"}
            return self.result(items, test=test)
        k = min(self.k, len(train) - 1)
        reference = np.sort(knn_distance(train, train, k, leave_one_out=True))
        distance = knn_distance(bench, train, k, leave_one_out=False)
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
            "train_sample": len(train),
        }
        info = {"score": "conformal p-value of the mean cosine distance to the k nearest "
                "training items; flagged = outside the training kNN radius"}  # fmt: skip
        return self.result(items, info=info, test=test)
