"""`lexical`: do benchmark items look like training items on the surface?

Two plain statistics over the whole training stream, on the words of `auditor.normalize`:
- item length in words: two-sample Kolmogorov-Smirnov test between every training item's length
  and every benchmark item's length; `statistic` is the KS distance. The training side is kept
  as a count per length (lengths are whole numbers, so the histogram is the exact empirical
  distribution and its memory is the longest document's length, not the corpus size); the test
  is scipy's `ks_2samp` with its default method, read from the counts (`ks_from_counts`);
- out-of-vocabulary rate: the share of benchmark word occurrences whose word never occurs in the
  training corpus (the benchmark's vocabulary is indexed, the training stream looked up in it, so
  memory grows with the benchmark), and the share of benchmark items with any such word.
"""

from typing import ClassVar, Self

import numpy as np
from scipy.stats import ks_2samp, kstwo

from auditor.corpus import Corpus
from probes.base import FitContext, Probe, ProbeResult, Scan, SetTest, TrainBatch
from probes.tokens import HashIndex, TokenBatch

EXACT_UP_TO = 10_000
"""scipy's `ks_2samp` computes the exact p-value up to this many items a side, the asymptotic
one beyond (its `MAX_AUTO_N`)."""


def ks_from_counts(counts: np.ndarray, sample: np.ndarray) -> tuple[float, float]:
    """`ks_2samp(lengths, sample)` (two-sided, method "auto") where `lengths` is given as
    `counts[k]` = how many items have length k: the same statistic and p-value, from memory
    proportional to the longest length."""
    total = int(counts.sum())
    if max(total, len(sample)) <= EXACT_UP_TO:  # small: scipy's exact path, on the items
        result = ks_2samp(np.repeat(np.arange(len(counts)), counts), sample)
        return float(result.statistic), float(result.pvalue)
    top = max(len(counts), int(sample.max()) + 1)
    grid = np.arange(top)
    train_cdf = np.cumsum(np.pad(counts, (0, top - len(counts)))) / total
    sample_cdf = np.searchsorted(np.sort(sample), grid, side="right") / len(sample)
    statistic = float(np.abs(train_cdf - sample_cdf).max())
    effective = round(total * len(sample) / (total + len(sample)))
    return statistic, float(np.clip(kstwo.sf(statistic, effective), 0, 1))


class LexicalProbe(Probe):
    name: ClassVar[str] = "lexical"
    kind: ClassVar[str] = "shift"
    requires: ClassVar[frozenset[str]] = frozenset({"tokens"})
    process_safe: ClassVar[bool] = True
    statistic_label: ClassVar[str] = "KS"

    def __init__(self) -> None:
        pass

    def fit(self, bench: Corpus, context: FitContext | None = None) -> Self:
        tokens = TokenBatch.from_texts(bench.texts)
        self.lengths_ = tokens.doc_lengths
        self.vocabulary_ = HashIndex(tokens.word_hashes)
        self.word_slots_ = self.vocabulary_.lookup(tokens.word_hashes)
        self.doc_of_word_ = tokens.doc_of_word
        return self

    def explain(self, test: SetTest, rejected: bool | None) -> str:
        if test.skipped or test.statistic is None or rejected is None:
            return super().explain(test, rejected)
        d = test.details
        return (
            f"lengths {'differ' if rejected else 'look alike'} (mean {d['bench_mean_length']:.1f} "
            f"vs {d['train_mean_length']:.1f} words); {d['oov_rate']:.1%} of benchmark words "
            "unseen in training"
        )

    def start_scan(self) -> "LexicalScan":
        self._check_fitted()
        return LexicalScan(self)


class LexicalScan(Scan):
    def __init__(self, probe: LexicalProbe) -> None:
        self.probe = probe
        self.seen = np.zeros(len(probe.vocabulary_), dtype=bool)
        self.length_counts = np.zeros(0, dtype=np.int64)
        """Training items per length in words (index = length)."""

    def prepare(self, batch: TrainBatch) -> tuple[np.ndarray, np.ndarray]:
        tokens = batch.tokens
        slots = self.probe.vocabulary_.lookup(tokens.word_hashes)
        return np.unique(slots[slots >= 0]), tokens.doc_lengths

    def absorb(self, batch: TrainBatch, prepared) -> None:
        slots, lengths = prepared
        self.seen[slots] = True
        counts = np.bincount(lengths)
        if len(counts) > len(self.length_counts):
            self.length_counts = np.pad(self.length_counts,
                                        (0, len(counts) - len(self.length_counts)))  # fmt: skip
        self.length_counts[: len(counts)] += counts

    def finish(self) -> ProbeResult:
        probe = self.probe
        counts = self.length_counts
        total = int(counts.sum())
        unseen = ~self.seen[probe.word_slots_]
        items_with_unseen = (
            np.bincount(probe.doc_of_word_[unseen], minlength=len(probe.lengths_)) > 0
        )
        if total and len(probe.lengths_):
            statistic, p_value = ks_from_counts(counts, probe.lengths_)
        else:
            statistic, p_value = None, None
        test = {
            "statistic": statistic,
            "p_value": p_value,
            "train_mean_length": (float(counts @ np.arange(len(counts))) / total
                                  if total else None),
            "bench_mean_length": float(probe.lengths_.mean()) if len(probe.lengths_) else None,
            "oov_rate": float(unseen.mean()) if len(unseen) else 0.0,
            "items_with_oov": float(items_with_unseen.mean()) if len(probe.lengths_) else 0.0,
        }
        info = {"test": "two-sample Kolmogorov-Smirnov on item length in words"}
        return probe.result([], info=info, test=test)
