"""`mmd`: maximum mean discrepancy between training and benchmark embeddings.

Unbiased MMD² (Gretton et al. 2012, eq. 3) with the Gaussian kernel
k(x, y) = exp(-||x - y||² / (2 σ²)), σ² = half the median pairwise squared distance of the
pooled sample (the median heuristic; x and y are L2-normalised sentence embeddings). The p-value
comes from `n_permutations` random re-splits of the pooled sample (default 1,000, so the smallest
attainable p-value, 1/1001, is below 0.001). All permutations are scored
with matrix products, no Python loop per permutation: with A the (permutations x items) 0/1
assignment matrix and K the pooled kernel matrix, the within- and between-group kernel sums of
every permutation are row sums of (A K) * A and (A K) * (1 - A).
"""

from typing import ClassVar

import numpy as np
import torch

from probes.base import ProbeResult, SetTest
from probes.twosample import (
    TwoSampleProbe,
    p_value_floor,
    permutation_p_value,
    permuted_assignments,
)

_PERMUTATION_CHUNK = 128


def rbf_kernel(pooled: np.ndarray) -> tuple[torch.Tensor, float]:
    """Pooled Gaussian kernel matrix and its σ² (median heuristic)."""
    z = torch.from_numpy(np.ascontiguousarray(pooled, dtype=np.float32))
    squared = (z * z).sum(dim=1)
    distances = (squared[:, None] + squared[None, :] - 2.0 * (z @ z.T)).clamp_(min=0.0)
    upper = distances[torch.triu_indices(len(z), len(z), offset=1).unbind()]
    sigma2 = float(upper.median()) / 2.0 or 1.0
    return torch.exp(-distances / (2.0 * sigma2)), sigma2


def mmd2_unbiased(kernel: torch.Tensor, first: torch.Tensor) -> torch.Tensor:
    """Unbiased MMD² for each row of `first` (permutations x items, 1.0 = first group)."""
    second = 1.0 - first
    nx, ny = first.sum(dim=1), second.sum(dim=1)
    diagonal = torch.diagonal(kernel)
    from_first = first @ kernel
    within_x = (from_first * first).sum(dim=1) - first @ diagonal
    between = (from_first * second).sum(dim=1)
    column_sums = kernel.sum(dim=0)
    within_y = ((column_sums - from_first) * second).sum(dim=1) - second @ diagonal
    return within_x / (nx * (nx - 1)) + within_y / (ny * (ny - 1)) - 2.0 * between / (nx * ny)


def mmd_test(x: np.ndarray, y: np.ndarray, n_permutations: int, seed: int) -> dict:
    """MMD² of samples x and y with its permutation p-value."""
    kernel, sigma2 = rbf_kernel(np.concatenate((x, y)))
    n = len(x) + len(y)
    observed_split = torch.zeros((1, n))
    observed_split[0, : len(x)] = 1.0
    observed = float(mmd2_unbiased(kernel, observed_split)[0])
    rng = np.random.default_rng(seed)
    null = []
    for start in range(0, n_permutations, _PERMUTATION_CHUNK):
        count = min(_PERMUTATION_CHUNK, n_permutations - start)
        assignment = torch.from_numpy(
            permuted_assignments(n, len(x), count, rng).astype(np.float32)
        )
        null.append(mmd2_unbiased(kernel, assignment).numpy())
    null = np.concatenate(null) if null else np.zeros(0)
    return {
        "statistic": observed,
        "p_value": permutation_p_value(observed, null),
        "p_value_floor": p_value_floor(n_permutations),
        "sigma2": sigma2,
        "null_mean": float(null.mean()) if len(null) else None,
    }


class MmdProbe(TwoSampleProbe):
    name: ClassVar[str] = "mmd"
    requires: ClassVar[frozenset[str]] = frozenset({"embeddings"})
    statistic_label: ClassVar[str] = "MMD²"
    bounds: ClassVar[dict[str, tuple[float | None, float | None]]] = {
        "n_permutations": (1, None), "max_train": (2, None),
    }  # fmt: skip

    def __init__(
        self,
        *,
        n_permutations: int = 1000,
        max_train: int = 2000,
        seed: int = 0,
        model: str = "minilm",
    ) -> None:
        self.n_permutations = n_permutations
        self.max_train = max_train
        self.seed = seed
        self.model = model

    def explain(self, test: SetTest, rejected: bool | None) -> str:
        if test.skipped or rejected is None:
            return super().explain(test, rejected)
        return f"embedding distributions {'differ' if rejected else 'look alike'}"

    def evaluate(self, train: np.ndarray) -> ProbeResult:
        bench = self.bench_embeddings_
        if len(train) < 2 or len(bench) < 2:
            test = {"statistic": None, "p_value": None, "skipped": "fewer than 2 items a side"}
        else:
            test = mmd_test(train, bench, self.n_permutations, self.seed)
        test["train_sample"] = len(train)
        return self.result(
            [],
            info={"kernel": "Gaussian, sigma^2 = median pooled squared distance / 2"},
            test=test,
        )
