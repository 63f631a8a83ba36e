"""What every probe shares: the probe interface, its scan, and the result types.

Shape (cleanlab's issue managers + alibi-detect's detectors + scikit-learn's estimators):

- `__init__` stores keyword parameters only; `get_params()` returns them.
- `fit(bench)` indexes the *benchmark* (small) and returns `self`; fitted state ends in `_`.
- `start_scan()` returns a `Scan` that consumes the *training* corpus batch by batch
  (`update`, split into a thread-safe `prepare` and an ordered `absorb`), so memory stays
  proportional to the benchmark however large the corpus, and
  several probes share one pass over the corpus; `finish()` returns the `ProbeResult`.
- `score(train)` is the one-call form: one scan over the whole corpus. Neither changes the probe.

A `ProbeResult` has the three layers of cleanlab's issue managers: per-item scores (in [0, 1],
with a flag and the evidence: which training item matched, and the overlapping span), a summary
(flagged count and fraction), and a free-form `info` dict for the method's details.
"""

import inspect
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self

import numpy as np

from auditor.corpus import Corpus, CorpusBatch
from probes.tokens import TokenBatch

if TYPE_CHECKING:
    from auditor.embeddings import Encoder

ProbeKind = Literal["overlap", "shift", "model"]


class NotFittedError(RuntimeError):
    """A probe was asked to scan before `fit`."""


@dataclass(frozen=True)
class Match:
    """Evidence for a benchmark item: the training item that matched best, and what overlaps."""

    train_index: int
    train_id: str
    span: str | None = None
    """The overlapping text (normalised words), where the method finds one."""

    def to_dict(self) -> dict[str, Any]:
        return {"train_index": self.train_index, "train_id": self.train_id, "span": self.span}


@dataclass(frozen=True)
class ItemScore:
    score: float
    flagged: bool
    match: Match | None = None


@dataclass(frozen=True)
class ProbeResult:
    probe: str
    params: dict[str, Any]
    items: list[ItemScore]
    """One per benchmark item, in order; empty for set-level tests with no per-item score."""
    info: dict[str, Any] = field(default_factory=dict)
    test: dict[str, Any] | None = None
    """Set-level statistics of a shift test (`statistic`, `p_value`, ...), else None."""

    @property
    def flagged(self) -> int:
        return sum(item.flagged for item in self.items)

    @property
    def fraction(self) -> float:
        return self.flagged / len(self.items) if self.items else 0.0


class TrainBatch:
    """One batch of the training corpus, with features computed once and shared by all scans."""

    def __init__(self, batch: CorpusBatch, corpus_fingerprint: str, corpus_size: int) -> None:
        self.start = batch.start
        self.texts = batch.texts
        self.ids = batch.ids
        self.labels = batch.labels
        self.corpus_fingerprint = corpus_fingerprint
        self.corpus_size = corpus_size
        self._embeddings: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.texts)

    @cached_property
    def tokens(self) -> TokenBatch:
        return TokenBatch.from_texts(self.texts)

    def computed_embeddings(self, encoder: "Encoder") -> np.ndarray | None:
        """This batch's embeddings by `encoder` if they are at hand without encoding: a probe
        has already asked for them, or they are in the disk cache (`audit index build`)."""
        if encoder.key not in self._embeddings:
            cached = encoder.cached(self.corpus_fingerprint, self.start, len(self))
            if cached is None:
                return None
            self._embeddings[encoder.key] = cached
        return self._embeddings[encoder.key]

    def embeddings(self, encoder: "Encoder") -> np.ndarray:
        """This batch's embeddings by `encoder` (disk-cached; computed once per batch)."""
        if encoder.key not in self._embeddings:
            self._embeddings[encoder.key] = encoder.encode_cached(
                self.texts, self.corpus_fingerprint, self.start
            )
        return self._embeddings[encoder.key]


class Scan(ABC):
    """The streaming half of a probe: consumes training batches, then gives the result.

    Consuming a batch is split in two so the pipeline can use every core: `prepare` reads only
    the fitted probe and the batch (no scan state), so it runs in worker threads on several
    batches at once (numpy releases the GIL); `absorb` folds its output into the scan's state,
    in batch order, on one thread.
    """

    def prepare(self, batch: TrainBatch) -> Any:
        return None

    @abstractmethod
    def absorb(self, batch: TrainBatch, prepared: Any) -> None: ...

    def update(self, batch: TrainBatch) -> None:
        self.absorb(batch, self.prepare(batch))

    @abstractmethod
    def finish(self) -> ProbeResult: ...


class Probe(ABC):
    name: ClassVar[str]
    kind: ClassVar[ProbeKind]
    requires: ClassVar[frozenset[str]]
    """Features a scan reads from `TrainBatch`: "text", "tokens", "embeddings"."""

    def get_params(self) -> dict[str, Any]:
        """The constructor's keyword parameters and their current values."""
        names = inspect.signature(type(self).__init__).parameters
        return {name: getattr(self, name) for name in names if name != "self"}

    @abstractmethod
    def fit(self, bench: Corpus, *, encoder: "Encoder | None" = None) -> Self:
        """Index the benchmark; returns self. `encoder` is the audit's shared sentence encoder,
        for probes that require "embeddings" (others ignore it)."""

    @abstractmethod
    def start_scan(self) -> Scan:
        """A fresh scan over a training corpus (raises `NotFittedError` before `fit`)."""

    def score(self, train: Corpus, batch_size: int = 1024) -> ProbeResult:
        scan = self.start_scan()
        for batch in train.batches(batch_size):
            scan.update(TrainBatch(batch, train.fingerprint, len(train)))
        return scan.finish()

    def _check_fitted(self) -> None:
        if not any(name.endswith("_") and not name.startswith("_") for name in vars(self)):
            raise NotFittedError(f"probe {self.name!r} must be fitted on a benchmark first")


def longest_true_run(mask: np.ndarray) -> tuple[int, int]:
    """(start, length) of the longest run of True in a 1-D boolean array; (0, 0) if none."""
    if not mask.any():
        return 0, 0
    padded = np.concatenate(([False], mask, [False]))
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    starts, ends = edges[0::2], edges[1::2]
    best = int(np.argmax(ends - starts))
    return int(starts[best]), int(ends[best] - starts[best])
