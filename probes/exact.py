"""`exact`: verbatim copies after normalisation, in either direction.

A benchmark item is flagged when, after `auditor.normalize` (NFKC, case folding, punctuation and
whitespace folding), its words

- equal a training item's words, or (items of at least `min_words` words) appear as a
  contiguous run inside a training item (a question pasted into a long training document),
  score 1.0; shorter items count only when equal, since two or three words inside a longer
  text ("good movie", "what is leukemia") say nothing about contamination; or
- contain a whole training item of at least `reverse_min_words` words that covers at least
  `reverse_min_fraction` of the benchmark item (the training set holds the question, the
  benchmark the question plus its options), score = the fraction covered.

Matching is on word boundaries ("cat" is not inside "concatenate"). How: every benchmark item is
anchored by the hash of its first 8 words (or all of them, if shorter); the training stream is
hashed once per anchor length, and anchor hits are confirmed by comparing the hash of the whole
span (O(1) from a prefix sum, see `probes.tokens`). The reverse direction looks each training
item's hash up in a table of the benchmark's word spans.
"""

from typing import ClassVar, Self

import numpy as np

from auditor.corpus import Corpus
from auditor.normalize import tokenize
from probes.base import FitContext, ItemScore, Match, Probe, ProbeResult, Scan, TrainBatch
from probes.tokens import HashIndex, TokenBatch

ANCHOR_WORDS = 8


class ExactProbe(Probe):
    name: ClassVar[str] = "exact"
    kind: ClassVar[str] = "overlap"
    requires: ClassVar[frozenset[str]] = frozenset({"tokens"})
    process_safe: ClassVar[bool] = True
    provides: ClassVar[frozenset[str]] = frozenset({"verbatim"})
    shown_params: ClassVar[tuple[str, ...]] = ("min_words",)
    bounds: ClassVar[dict[str, tuple[float | None, float | None]]] = {
        "min_words": (1, None), "reverse_min_words": (1, None), "reverse_min_fraction": (0, 1),
    }  # fmt: skip

    def __init__(
        self, *, min_words: int = 4, reverse_min_words: int = 8, reverse_min_fraction: float = 0.5
    ) -> None:
        self.min_words = min_words
        self.reverse_min_words = reverse_min_words
        self.reverse_min_fraction = reverse_min_fraction

    def fit(self, bench: Corpus, context: FitContext | None = None) -> Self:
        tokens = TokenBatch.from_texts(bench.texts)
        lengths = tokens.doc_lengths
        starts = tokens.doc_starts[:-1]
        self.texts_ = bench.texts
        self.lengths_ = lengths
        self.full_hashes_ = tokens.doc_hashes()
        anchor_lengths = np.minimum(lengths, ANCHOR_WORDS)
        anchor_hashes = tokens.span_hashes(starts, anchor_lengths)
        self.anchors_ = {}
        for n in np.unique(anchor_lengths[lengths > 0]):
            items = np.flatnonzero(anchor_lengths == n)
            self.anchors_[int(n)] = (HashIndex(anchor_hashes[items]), items)
        self.spans_ = self._span_table(tokens)
        return self

    def _span_table(self, tokens: TokenBatch) -> tuple[HashIndex, np.ndarray, np.ndarray]:
        """Hashes of every benchmark word span a training item may fill (reverse direction)."""
        lengths = tokens.doc_lengths
        hashes, items, offsets = [], [], []
        for span in range(self.reverse_min_words, int(lengths.max(initial=0))):
            starts = tokens.ngram_starts(span)
            item = tokens.doc_of_word[starts]
            keep = lengths[item] * self.reverse_min_fraction <= span
            keep &= lengths[item] > span
            starts, item = starts[keep], item[keep]
            hashes.append(tokens.span_hashes(starts, span))
            items.append(item)
            offsets.append(starts - tokens.doc_starts[item])
        if not hashes:
            empty = np.zeros(0, dtype=np.int64)
            return HashIndex(np.zeros(0, dtype=np.uint64)), empty, empty
        return HashIndex(np.concatenate(hashes)), np.concatenate(items), np.concatenate(offsets)

    def start_scan(self) -> "ExactScan":
        self._check_fitted()
        return ExactScan(self)


class ExactScan(Scan):
    def __init__(self, probe: ExactProbe) -> None:
        self.probe = probe
        n_items = len(probe.lengths_)
        self.score = np.zeros(n_items)
        self.train_index = np.full(n_items, -1, dtype=np.int64)
        self.train_id: dict[int, str] = {}
        self.span: dict[int, tuple[int, int]] = {}
        """item -> (first word, word count) of the benchmark item's matched words."""

    def prepare(self, batch: TrainBatch) -> list[tuple[int, float, int, tuple[int, int]]]:
        """Matches in this batch: (benchmark item, score, document, matched word span)."""
        return self._forward(batch.tokens) + self._reverse(batch.tokens)

    def _forward(self, tokens: TokenBatch) -> list:
        probe, found = self.probe, []
        for n, (index, items) in probe.anchors_.items():
            slots, positions = tokens.lookup_ngrams(n, index)
            if not len(slots):
                continue
            which, member = index.members(slots)
            position, item = positions[which], items[member]
            length = probe.lengths_[item]
            doc = tokens.doc_of_word[position]
            inside = position + length <= tokens.doc_starts[doc + 1]
            position, item, length, doc = (
                position[inside],
                item[inside],
                length[inside],
                doc[inside],
            )
            same = tokens.span_hashes(position, length) == probe.full_hashes_[item]
            equal = (position == tokens.doc_starts[doc]) & (length == tokens.doc_lengths[doc])
            same &= equal | (length >= probe.min_words)
            for i, d in zip(item[same], doc[same], strict=True):
                found.append((int(i), 1.0, int(d), (0, int(probe.lengths_[i]))))
        return found

    def _reverse(self, tokens: TokenBatch) -> list:
        index, span_items, span_offsets = self.probe.spans_
        if not len(index):
            return []
        docs = np.flatnonzero(tokens.doc_lengths >= self.probe.reverse_min_words)
        slots = index.lookup(tokens.span_hashes(tokens.doc_starts[docs], tokens.doc_lengths[docs]))
        hit = np.flatnonzero(slots >= 0)
        which, member = index.members(slots[hit])
        found = []
        for d, m in zip(docs[hit][which], member, strict=True):
            item, words = int(span_items[m]), int(tokens.doc_lengths[d])
            fraction = words / int(self.probe.lengths_[item])
            found.append((item, fraction, int(d), (int(span_offsets[m]), words)))
        return found

    def absorb(self, batch: TrainBatch, prepared) -> None:
        for item, score, doc, span in prepared:
            self._record(item, score, batch, doc, span)

    def _record(self, item: int, score: float, batch: TrainBatch, doc: int, span) -> None:
        """Keep the best-scoring match; among equals, the earliest training item."""
        train_index = batch.start + doc
        current = self.train_index[item]
        if score > self.score[item] or (
            score == self.score[item] and (current < 0 or train_index < current)
        ):
            self.score[item] = score
            self.train_index[item] = train_index
            self.train_id[item] = batch.ids[doc]
            self.span[item] = span

    def finish(self) -> ProbeResult:
        items = []
        for i, score in enumerate(self.score):
            match = None
            if self.train_index[i] >= 0:
                first, count = self.span[i]
                words = tokenize(self.probe.texts_[i])[first : first + count]
                match = Match(int(self.train_index[i]), self.train_id[i], " ".join(words))
            items.append(ItemScore(float(score), bool(score > 0), match))
        return self.probe.result(
            items,
            info={
                "method": "word-aligned equality or containment after normalisation",
                "anchor_words": ANCHOR_WORDS,
            },
        )
