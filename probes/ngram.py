"""`ngram`: how much of each benchmark item is covered by word n-grams seen in training.

The classic decontamination check (GPT-3, Brown et al. 2020, appendix C; lm-evaluation-harness
uses its n = 13), with Llama 2's token-coverage reading (Touvron et al. 2023, section A.6):

- words come from `auditor.normalize` (case, punctuation and whitespace folded);
- n follows GPT-3's rule: the 5th percentile of the benchmark's item length in words, clamped
  to [`min_n`, `n`] (defaults 8 and 13), so a benchmark of short items is not checked with an
  n-gram longer than most of its items. An item shorter than that n uses its own length (the
  whole item must occur), if it has at least `min_words` words; shorter items are left to the
  `exact` probe, since two or three words inside a training text say nothing about contamination
  (`info["too_short"]` counts them). `info["n"]` reports the n chosen;
- coverage = the fraction of the item's words inside at least one of its n-grams that occurs
  anywhere in the training corpus. This is the score;
- the item is flagged "dirty" when coverage >= `dirty` (Llama 2: 0.8); `info` also counts
  "clean" items (coverage < `clean`, Llama 2: 0.2) and GPT-3's any-collision items;
- the evidence is the longest run of covered words and the training item holding most of the
  n-grams in that run.
"""

from typing import Any, ClassVar, Self

import numpy as np

from auditor.corpus import Corpus
from auditor.normalize import tokenize
from probes.base import (
    FitContext,
    ItemScore,
    Match,
    ParamError,
    Probe,
    ProbeResult,
    Scan,
    TrainBatch,
)
from probes.tokens import SIEVE_WORDS, HashIndex, NgramSieve, TokenBatch


def gpt3_n(lengths: np.ndarray, n: int, min_n: int) -> int:
    """GPT-3's n: the 5th-percentile item length in words, clamped to [min_n, n]."""
    nonempty = lengths[lengths > 0]
    if not len(nonempty):
        return n
    return int(np.clip(np.percentile(nonempty, 5), min_n, n))


class NgramProbe(Probe):
    name: ClassVar[str] = "ngram"
    kind: ClassVar[str] = "overlap"
    requires: ClassVar[frozenset[str]] = frozenset({"tokens"})
    process_safe: ClassVar[bool] = True
    notable: ClassVar[float | None] = 0.0
    bounds: ClassVar[dict[str, tuple[float | None, float | None]]] = {
        "n": (1, None), "min_n": (1, None), "min_words": (1, None),
        "dirty": (0, 1), "clean": (0, 1),
    }  # fmt: skip

    def check_params(self) -> None:
        """n below min_n would silently clamp n's range to [min_n, n] ("clamped to [8, 2]")."""
        super().check_params()
        if self.n < self.min_n:
            raise ParamError("n", f"{self.n} is below min_n = {self.min_n}; lower min_n too "
                             f"(--param ngram.min_n={self.n})")  # fmt: skip
        if self.clean > self.dirty:
            raise ParamError("clean", f"{self.clean:g} is above dirty = {self.dirty:g}")

    def __init__(
        self,
        *,
        n: int = 13,
        min_n: int = 8,
        min_words: int = 4,
        dirty: float = 0.8,
        clean: float = 0.2,
    ) -> None:
        self.n = n
        self.min_words = min_words
        self.min_n = min_n
        self.dirty = dirty
        self.clean = clean

    def fit(self, bench: Corpus, context: FitContext | None = None) -> Self:
        tokens = TokenBatch.from_texts(bench.texts)
        lengths = tokens.doc_lengths
        self.texts_ = bench.texts
        self.lengths_ = lengths
        self.n_ = gpt3_n(lengths, self.n, min(self.min_n, self.n))
        self.item_n_ = np.minimum(lengths, self.n_)
        self.tables_: dict[int, HashIndex] = {}
        self.sieves_: dict[int, NgramSieve | None] = {}
        self.item_slots_: list[tuple[int, np.ndarray]] = [(0, np.zeros(0, np.int64))] * len(lengths)
        for n in np.unique(self.item_n_[lengths >= self.min_words]):
            n = int(n)
            starts = tokens.ngram_starts(n)
            item = tokens.doc_of_word[starts]
            keep = (self.item_n_[item] == n) & (lengths[item] >= self.min_words)
            starts, item = starts[keep], item[keep]
            hashes = tokens.span_hashes(starts, n)
            index = HashIndex(hashes)
            slots = index.lookup(hashes)
            bounds = np.searchsorted(item, np.arange(len(lengths) + 1))
            for i in np.flatnonzero((self.item_n_ == n) & (lengths >= self.min_words)):
                self.item_slots_[i] = (n, slots[bounds[i] : bounds[i + 1]])
            self.tables_[n] = index
            self.sieves_[n] = NgramSieve(tokens, starts, n) if n > SIEVE_WORDS else None
        return self

    def describe(self, info: dict[str, Any]) -> str:
        return f"n={info.get('n', self.n)}, dirty={self.dirty}, clean={self.clean}"

    @property
    def flag_threshold(self) -> float:
        return float(self.dirty)

    def start_scan(self) -> "NgramScan":
        self._check_fitted()
        return NgramScan(self)


class NgramScan(Scan):
    def __init__(self, probe: NgramProbe) -> None:
        self.probe = probe
        self.first_doc = {
            n: np.full(len(index), -1, np.int64) for n, index in probe.tables_.items()
        }
        self.ids: dict[int, str] = {}

    def prepare(self, batch: TrainBatch) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """Per n: benchmark n-gram slots this batch hits, and the first document hitting each."""
        tokens = batch.tokens
        hits = []
        for n, index in self.probe.tables_.items():
            slots, positions = tokens.lookup_ngrams(n, index, self.probe.sieves_[n])
            slots, first = np.unique(slots, return_index=True)
            hits.append((n, slots, tokens.doc_of(positions[first])))
        return hits

    def absorb(self, batch: TrainBatch, prepared) -> None:
        for n, slots, docs in prepared:
            fresh = self.first_doc[n][slots] < 0
            self.first_doc[n][slots[fresh]] = batch.start + docs[fresh]
            for doc in np.unique(docs[fresh]):
                self.ids[int(batch.start + doc)] = batch.ids[doc]

    def finish(self) -> ProbeResult:
        probe = self.probe
        items = [self._score(i, n, slots) for i, (n, slots) in enumerate(probe.item_slots_)]
        coverages = np.array([item.score for item in items])
        any_hit = sum(item.match is not None for item in items)
        return probe.result(
            items,
            info={
                "n": probe.n_,
                "n_rule": (
                    f"5th-percentile item length clamped to [{probe.min_n}, {probe.n}] "
                    f"(GPT-3); shorter items use their own length, items under {probe.min_words} "
                    "words are left to the exact probe"
                ),
                "too_short": int((probe.lengths_ < probe.min_words).sum()),
                "score": "fraction of the item's words covered by n-grams found in training",
                "clean": int((coverages < probe.clean).sum()),
                "dirty": int((coverages >= probe.dirty).sum()),
                "any_collision": any_hit,
            },
        )

    def _score(self, i: int, n: int, slots: np.ndarray) -> ItemScore:
        """Item `i`'s coverage by the n-grams (`slots`) found in training, and its evidence."""
        probe = self.probe
        docs = self.first_doc[n][slots] if len(slots) else np.zeros(0, np.int64)
        matched = docs >= 0
        if not matched.any():  # most items: nothing covered, no evidence to look for
            return ItemScore(0.0, probe.dirty <= 0.0, None)
        length = int(probe.lengths_[i])
        covered = np.zeros(length + 1, dtype=np.int64)
        np.add.at(covered, np.flatnonzero(matched), 1)
        np.add.at(covered, np.flatnonzero(matched) + n, -1)
        covered = np.cumsum(covered[:length]) > 0
        coverage = float(covered.mean()) if length else 0.0
        start, run = longest_true_run(covered)
        in_run = matched[start : max(start + run - n + 1, start + 1)]
        run_docs = docs[start : start + len(in_run)][in_run]
        values, counts = np.unique(run_docs, return_counts=True)
        doc = int(values[np.argmax(counts)])
        words = " ".join(tokenize(probe.texts_[i])[start : start + run])
        return ItemScore(coverage, coverage >= probe.dirty, Match(doc, self.ids[doc], words))


def longest_true_run(mask: np.ndarray) -> tuple[int, int]:
    """(start, length) of the longest run of True in a 1-D boolean array; (0, 0) if none."""
    if not mask.any():
        return 0, 0
    padded = np.concatenate(([False], mask, [False]))
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    starts, ends = edges[0::2], edges[1::2]
    best = int(np.argmax(ends - starts))
    return int(starts[best]), int(ends[best] - starts[best])
