"""What the shift probes share: a seeded training sample and permutation p-values.

The benchmark is small and the training corpus may be huge, so set-level tests compare the
benchmark with a seeded random sample of at most `max_train` training items, drawn during the one
streamed pass (which rows is fixed by the seed and the corpus size alone, so batching cannot
change it), and the sample is ordered by a digest of each text, so neither can the order of
the corpus when the same items are sampled. Only the sampled rows' embeddings are kept (taken
from the batch when another probe has already embedded it, or from the disk cache when `audit
index build` has).

Permutation tests (alibi-detect's shape: the shared machinery lives here, each test implements
only its statistic) pool both samples, re-split them at random `n_permutations` times and report
p = (1 + #{null >= observed}) / (1 + n_permutations), which is exact: under the null hypothesis
that both samples come from one distribution, P(p <= alpha) <= alpha.
"""

import hashlib
from abc import abstractmethod
from typing import ClassVar, Self

import numpy as np

from auditor.corpus import Corpus
from auditor.embeddings import Encoder
from probes.base import FitContext, Probe, ProbeResult, Scan, TrainBatch


def sample_rows(size: int, n: int, seed: int) -> np.ndarray:
    """Sorted row indices of a seeded sample of min(n, size) rows out of `size`."""
    if size <= n:
        return np.arange(size)
    return np.sort(np.random.default_rng(seed).choice(size, n, replace=False))


def permutation_p_value(observed: float, null: np.ndarray) -> float:
    return float((1 + np.count_nonzero(null >= observed)) / (1 + len(null)))


def p_value_floor(n_permutations: int) -> float:
    """The smallest p-value `n_permutations` permutations can give: a p-value there is a bound
    (reported as `at_floor`), never a measured value."""
    return 1.0 / (1 + n_permutations)


def permuted_assignments(n_total: int, n_first: int, count: int, rng) -> np.ndarray:
    """`count` random splits of `n_total` pooled items: True marks the first group's members."""
    ranks = np.argsort(rng.random((count, n_total)), axis=1)
    return ranks < n_first


class TwoSampleProbe(Probe):
    """A shift probe on embeddings: the benchmark's at `fit`, a seeded training sample's in the
    scan."""

    kind: ClassVar[str] = "shift"

    def fit(self, bench: Corpus, context: FitContext | None = None) -> Self:
        shared = context.encoder if context is not None else None
        self.encoder_ = shared or Encoder(self.model)
        self.bench_embeddings_ = self.encoder_.encode_cached(bench.texts, bench.fingerprint, 0)
        return self

    def start_scan(self) -> "SampleScan":
        self._check_fitted()
        return SampleScan(self)

    @abstractmethod
    def evaluate(self, train: np.ndarray) -> ProbeResult:
        """The test of the benchmark's embeddings against the training sample's (`train`)."""


class SampleScan(Scan):
    def __init__(self, probe: TwoSampleProbe) -> None:
        self.probe = probe
        self.rows: np.ndarray | None = None
        self.embeddings: list[np.ndarray] = []
        self.keys: list[bytes] = []
        """A digest of each sampled text: the sample is put in this order before the test, so
        the same sampled items give the same result whatever order the corpus lists them in."""

    def absorb(self, batch: TrainBatch, prepared: None) -> None:
        probe = self.probe
        if self.rows is None:
            self.rows = sample_rows(batch.corpus_size, probe.max_train, probe.seed)
        lo, hi = np.searchsorted(self.rows, [batch.start, batch.start + len(batch)])
        local = self.rows[lo:hi] - batch.start
        if not len(local):
            return
        self.keys += [
            hashlib.blake2b(batch.texts[i].encode("utf-8", "surrogatepass"), digest_size=8).digest()
            for i in local
        ]
        whole = batch.computed_embeddings(probe.encoder_)
        if whole is not None:  # another probe embedded the whole batch, or an index holds it
            self.embeddings.append(whole[local])
            return
        texts = [batch.texts[i] for i in local]
        key = f"{batch.corpus_fingerprint}-sample-{probe.max_train}-{probe.seed}"
        self.embeddings.append(probe.encoder_.encode_cached(texts, key, batch.start))

    def finish(self) -> ProbeResult:
        dimension = self.probe.bench_embeddings_.shape[1]
        if not self.embeddings:
            return self.probe.evaluate(np.zeros((0, dimension)))
        order = sorted(range(len(self.keys)), key=self.keys.__getitem__)
        return self.probe.evaluate(np.concatenate(self.embeddings)[order])
