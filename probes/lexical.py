"""`lexical`: do benchmark items look like training items on the surface?

Two plain statistics over the whole training stream, on the words of `auditor.normalize`:
- item length in words: two-sample Kolmogorov-Smirnov test (scipy) between every training
  item's length and every benchmark item's length; `statistic` is the KS distance;
- out-of-vocabulary rate: the share of benchmark word occurrences whose word never occurs in the
  training corpus (the benchmark's vocabulary is indexed, the training stream looked up in it, so
  memory grows with the benchmark), and the share of benchmark items with any such word.
"""

from typing import ClassVar, Self

import numpy as np
from scipy.stats import ks_2samp

from auditor.corpus import Corpus
from probes.base import FitContext, Probe, ProbeResult, Scan, SetTest, TrainBatch
from probes.tokens import HashIndex, TokenBatch


class LexicalProbe(Probe):
    name: ClassVar[str] = "lexical"
    kind: ClassVar[str] = "shift"
    requires: ClassVar[frozenset[str]] = frozenset({"tokens"})
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
        self.lengths: list[np.ndarray] = []

    def prepare(self, batch: TrainBatch) -> tuple[np.ndarray, np.ndarray]:
        tokens = batch.tokens
        slots = self.probe.vocabulary_.lookup(tokens.word_hashes)
        return np.unique(slots[slots >= 0]), tokens.doc_lengths

    def absorb(self, batch: TrainBatch, prepared) -> None:
        slots, lengths = prepared
        self.seen[slots] = True
        self.lengths.append(lengths)

    def finish(self) -> ProbeResult:
        probe = self.probe
        train_lengths = np.concatenate(self.lengths) if self.lengths else np.zeros(0, int)
        unseen = ~self.seen[probe.word_slots_]
        items_with_unseen = (
            np.bincount(probe.doc_of_word_[unseen], minlength=len(probe.lengths_)) > 0
        )
        if len(train_lengths) and len(probe.lengths_):
            ks = ks_2samp(train_lengths, probe.lengths_)
            statistic, p_value = float(ks.statistic), float(ks.pvalue)
        else:
            statistic, p_value = None, None
        test = {
            "statistic": statistic,
            "p_value": p_value,
            "train_mean_length": float(train_lengths.mean()) if len(train_lengths) else None,
            "bench_mean_length": float(probe.lengths_.mean()) if len(probe.lengths_) else None,
            "oov_rate": float(unseen.mean()) if len(unseen) else 0.0,
            "items_with_oov": float(items_with_unseen.mean()) if len(probe.lengths_) else 0.0,
        }
        info = {"test": "two-sample Kolmogorov-Smirnov on item length in words"}
        return probe.result([], info=info, test=test)
