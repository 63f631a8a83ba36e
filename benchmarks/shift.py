"""Shift-test cost: MMD with 1,000 permutations and c2st, 5,000 training vs 2,000 benchmark items.

MMD: audit's permutation test (every permutation scored by matrix products on the pooled kernel,
`probes.mmd`) against the straightforward implementation: a Python loop over permutations that
gathers the within- and between-group kernel blocks and averages them. The loop is timed on 20
permutations and reported per permutation. c2st: seconds per cross-validated refit at this size
(the observed statistic plus each permutation costs one). alibi-detect's MMDDrift is not
compared: it pins transformers < 5 and numpy < 2, which do not install beside this project.
Vectors are random unit vectors of MiniLM's dimension (384): the cost does not depend on them.
"""

import time

import numpy as np
import torch

from benchmarks.common import best_of
from probes.c2st import out_of_fold
from probes.mmd import mmd_test, rbf_kernel

N_TRAIN, N_BENCH, PERMUTATIONS, LOOP_PERMUTATIONS = 5000, 2000, 1000, 20


def loop_mmd_null(kernel: np.ndarray, n_first: int, count: int, seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    null = []
    for _ in range(count):
        order = rng.permutation(len(kernel))
        x, y = order[:n_first], order[n_first:]
        kxx, kyy, kxy = kernel[np.ix_(x, x)], kernel[np.ix_(y, y)], kernel[np.ix_(x, y)]
        nx, ny = len(x), len(y)
        null.append(
            (kxx.sum() - np.trace(kxx)) / (nx * (nx - 1))
            + (kyy.sum() - np.trace(kyy)) / (ny * (ny - 1))
            - 2.0 * kxy.mean()
        )
    return null


def unit(rows: int, shift: float, rng) -> np.ndarray:
    vectors = rng.normal(size=(rows, 384)).astype(np.float32) + shift
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def main() -> None:
    rng = np.random.default_rng(0)
    train, bench = unit(N_TRAIN, 0.0, rng), unit(N_BENCH, 0.02, rng)
    threads = torch.get_num_threads()
    print(f"{N_TRAIN:,} training vs {N_BENCH:,} benchmark vectors, torch threads {threads}")
    ours_s, result = best_of(2, lambda: mmd_test(train, bench, PERMUTATIONS, 0))
    kernel = rbf_kernel(np.concatenate((train, bench)))[0].numpy()
    start = time.perf_counter()
    loop_mmd_null(kernel, N_TRAIN, LOOP_PERMUTATIONS, 0)
    loop_per = (time.perf_counter() - start) / LOOP_PERMUTATIONS
    print(f"MMD, {PERMUTATIONS} permutations: audit {ours_s:.1f} s (kernel included, "
          f"p = {result['p_value']:.4f}); Python loop {loop_per * PERMUTATIONS:.0f} s "
          f"({loop_per * 1000:.0f} ms/permutation); "
          f"ratio {loop_per * PERMUTATIONS / ours_s:.0f}x")  # fmt: skip
    per_side = min(N_TRAIN, N_BENCH)
    features = np.concatenate((train[:per_side], bench[:per_side]))
    labels = np.repeat([0, 1], per_side)
    refit_s, _ = best_of(2, lambda: out_of_fold(features, labels, 5, 0, 1.0))
    small = np.concatenate((train[:500], bench[:500]))
    default_s, _ = best_of(2, lambda: out_of_fold(small, np.repeat([0, 1], 500), 5, 0, 1.0))
    print(f"c2st, one 5-fold logistic-regression refit: {refit_s:.2f} s at {per_side:,} a side "
          f"({PERMUTATIONS} permutations: {refit_s * PERMUTATIONS / 60:.0f} min); "
          f"{default_s:.3f} s at the default 500 a side (200 permutations: "
          f"{default_s * 200:.0f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
