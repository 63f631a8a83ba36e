"""What the shift probes share: a seeded training sample and permutation p-values.

The benchmark is small and the training corpus may be huge, so set-level tests compare the
benchmark with a seeded random sample of at most `max_train` training items, drawn during the one
streamed pass (which rows is fixed by the seed and the corpus size alone, so batching cannot
change it). Features of the sampled rows (embeddings, labels, texts) are kept; nothing else.

Permutation tests (alibi-detect's shape: the shared machinery lives here, each test implements
only its statistic) pool both samples, re-split them at random `n_permutations` times and report
p = (1 + #{null >= observed}) / (1 + n_permutations), which is exact: under the null hypothesis
that both samples come from one distribution, P(p <= alpha) <= alpha.
"""

from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np

from auditor.corpus import Corpus
from auditor.embeddings import Encoder
from probes.base import Probe, ProbeResult, Scan, TrainBatch


def sample_rows(size: int, n: int, seed: int) -> np.ndarray:
    """Sorted row indices of a seeded sample of min(n, size) rows out of `size`."""
    if size <= n:
        return np.arange(size)
    return np.sort(np.random.default_rng(seed).choice(size, n, replace=False))


def permutation_p_value(observed: float, null: np.ndarray) -> float:
    return float((1 + np.count_nonzero(null >= observed)) / (1 + len(null)))


def permuted_assignments(n_total: int, n_first: int, count: int, rng) -> np.ndarray:
    """`count` random splits of `n_total` pooled items: True marks the first group's members."""
    ranks = np.argsort(rng.random((count, n_total)), axis=1)
    return ranks < n_first


@dataclass
class Sample:
    """The features of one side: embeddings, labels and texts of its items (any may be None)."""

    embeddings: np.ndarray | None
    labels: list | None
    texts: list[str]


class TwoSampleProbe(Probe):
    """A shift probe: benchmark features at `fit`, a seeded training sample in the scan."""

    kind: ClassVar[str] = "shift"
    uses_embeddings: ClassVar[bool] = True

    def fit(self, bench: Corpus, *, encoder: Encoder | None = None) -> Self:
        self.encoder_ = None
        embeddings = None
        if self.uses_embeddings:
            self.encoder_ = encoder or Encoder(self.model)
            embeddings = self.encoder_.encode_cached(bench.texts, bench.fingerprint, 0)
        labels = bench.column("label")
        self.bench_ = Sample(embeddings, labels, bench.texts)
        return self

    def start_scan(self) -> "SampleScan":
        self._check_fitted()
        return SampleScan(self)

    @abstractmethod
    def evaluate(self, train: Sample, train_size: int) -> ProbeResult:
        """The test on the benchmark (`self.bench_`) against the training sample."""


class SampleScan(Scan):
    def __init__(self, probe: TwoSampleProbe) -> None:
        self.probe = probe
        self.rows: np.ndarray | None = None
        self.embeddings: list[np.ndarray] = []
        self.labels: list[Any] = []
        self.texts: list[str] = []
        self.size = 0

    def absorb(self, batch: TrainBatch, prepared: None) -> None:
        probe = self.probe
        if self.rows is None:
            self.rows = sample_rows(batch.corpus_size, probe.max_train, probe.seed)
            self.size = batch.corpus_size
        lo, hi = np.searchsorted(self.rows, [batch.start, batch.start + len(batch)])
        local = (self.rows[lo:hi] - batch.start).tolist()
        if not local:
            return
        texts = [batch.texts[i] for i in local]
        self.texts.extend(texts)
        if batch.labels is not None:
            self.labels.extend(batch.labels[i] for i in local)
        if probe.encoder_ is not None:
            key = f"{batch.corpus_fingerprint}-sample-{probe.max_train}-{probe.seed}"
            self.embeddings.append(probe.encoder_.encode_cached(texts, key, batch.start))

    def finish(self) -> ProbeResult:
        embeddings = np.concatenate(self.embeddings) if self.embeddings else None
        labels = self.labels if len(self.labels) == len(self.texts) and self.labels else None
        return self.probe.evaluate(Sample(embeddings, labels, self.texts), self.size)
