"""`containment`: the largest share of an item's skeleton word 3-grams that one training
document holds, so an edited copy (numbers, names, some words changed, sentences reordered)
still shows most of its short phrases in the document it was copied into.

Both sides are read as skeletons (`auditor.skeleton`: numbers as placeholders, and names where
`names` says they are incidental: "auto" decides by the benchmark's item lengths). For
each benchmark item, its distinct word 3-grams; for each training document, which of them it
contains; the score is the largest fraction any single document holds (Broder's containment,
with the document as the container, so the solution or chat around a buried item does not
lower it, as it lowers a Jaccard similarity). Counting per document, not over the corpus as the
n-gram coverage does, keeps common phrases that are spread over many documents from adding up.
Order inside the item does not matter (reordered sentences keep their 3-grams), and a swapped
word breaks only the three 3-grams around it.

Measured on GSM8K test questions planted, rewritten, before their solutions among the GSM8K
training documents (`benchmarks/rewrites.py`): every number or name rewrite scores 1; with the
embedding probe and the calibration (`auditor.calibration`) it lifts recall of synonym swaps and
of the combined rewrite by 5-15 points over the embedding alone. Items under `min_words` words
are left to the exact probe. The threshold is calibrated (`calibrates`); `threshold` applies
with `--fpr 0`.

The pass counts, per batch, every (document, item) pair sharing a 3-gram: proportional to the
corpus times the number of items sharing its phrases, vectorised with numpy.
"""

from typing import Any, ClassVar, Self

import numpy as np

from auditor.corpus import Corpus
from auditor.skeleton import check_names, names_are_incidental, skeleton
from probes.base import FitContext, ItemScore, Match, Probe, ProbeResult, Scan, TrainBatch
from probes.null import with_null
from probes.tokens import HashIndex, TokenBatch


class ContainmentProbe(Probe):
    name: ClassVar[str] = "containment"
    kind: ClassVar[str] = "overlap"
    requires: ClassVar[frozenset[str]] = frozenset({"skeleton"})
    process_safe: ClassVar[bool] = True
    calibrates: ClassVar[bool] = True
    bounds: ClassVar[dict[str, tuple[float | None, float | None]]] = {
        "n": (1, None), "min_words": (1, None), "threshold": (0, 1),
    }  # fmt: skip

    def __init__(
        self, *, n: int = 3, min_words: int = 6, threshold: float = 0.8, names: str = "auto"
    ) -> None:
        self.n = n
        self.min_words = min_words
        self.threshold = threshold
        self.names = names

    def check_params(self) -> None:
        super().check_params()
        check_names(self.names)

    def fit(self, bench: Corpus, context: FitContext | None = None) -> Self:
        null = context.null if context is not None else None
        self.names_ = names_are_incidental(self.names, [len(t.split()) for t in bench.texts])
        texts, self.own_row_ = with_null(bench.texts, null)
        tokens = TokenBatch.from_texts([skeleton(text, self.names_) for text in texts])
        hashes, starts = tokens.ngrams(self.n)
        owner = tokens.doc_of_word[starts]
        keep = tokens.doc_lengths[owner] >= self.min_words
        pairs = np.unique(np.stack([owner[keep], hashes[keep].view(np.int64)], axis=1), axis=0)
        self.owner_ = pairs[:, 0]
        self.index_ = HashIndex(pairs[:, 1].view(np.uint64))
        self.sizes_ = np.bincount(self.owner_, minlength=len(texts))
        self.items_ = len(bench)
        self.null_ = null
        return self

    def describe(self, info: dict[str, Any]) -> str:
        replaced = "numbers and names" if getattr(self, "names_", True) else "numbers"
        return f"{self.n}-grams, {replaced} as placeholders, items of {self.min_words}+ words"

    def start_scan(self) -> "ContainmentScan":
        self._check_fitted()
        return ContainmentScan(self)


class ContainmentScan(Scan):
    def __init__(self, probe: ContainmentProbe) -> None:
        self.probe = probe
        self.best = np.zeros(len(probe.sizes_))
        self.best_row = np.full(len(probe.sizes_), -1, dtype=np.int64)
        self.ids: dict[int, str] = {}

    def prepare(self, batch: TrainBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per query this batch touches: its best share in the batch and the document's row."""
        probe = self.probe
        tokens = batch.skeleton_tokens(probe.names_)
        slots, starts = tokens.lookup_ngrams(probe.n, probe.index_)
        docs = tokens.doc_of_word[starts]
        distinct = np.unique(docs * len(probe.index_) + slots)  # each 3-gram once per document
        docs, slots = distinct // len(probe.index_), distinct % len(probe.index_)
        which, positions = probe.index_.members(slots)
        queries, rows = probe.owner_[positions], batch.start + docs[which]
        keep = rows != probe.own_row_[queries]  # a null query never counts its own document
        key = np.unique(rows[keep] * len(probe.sizes_) + queries[keep], return_counts=True)
        rows, queries, counts = key[0] // len(probe.sizes_), key[0] % len(probe.sizes_), key[1]
        share = counts / probe.sizes_[queries]
        order = np.lexsort((rows, -share, queries))  # per query: best share, then earliest row
        first = np.ones(len(order), dtype=bool)
        first[1:] = queries[order][1:] != queries[order][:-1]
        chosen = order[first]
        return queries[chosen], share[chosen], rows[chosen]

    def absorb(self, batch: TrainBatch, prepared) -> None:
        queries, share, rows = prepared
        better = share > self.best[queries]
        queries, share, rows = queries[better], share[better], rows[better]
        self.best[queries], self.best_row[queries] = share, rows
        for row in set(rows[queries < self.probe.items_].tolist()):
            self.ids[row] = batch.ids[row - batch.start]

    def finish(self) -> ProbeResult:
        probe = self.probe
        items = []
        shares, rows = self.best[: probe.items_], self.best_row[: probe.items_]
        for share, row in zip(shares, rows, strict=True):
            match = Match(int(row), self.ids[int(row)]) if row >= 0 else None
            items.append(ItemScore(float(share), bool(share >= probe.threshold), match))
        checked = probe.sizes_[: probe.items_] > 0
        return probe.result(
            items,
            info={
                "score": "largest share of the item's skeleton word n-grams in one training "
                "document",
                "too_short": int((~checked).sum()),
            },
            null=self.best[probe.items_ :] if probe.null_ is not None else None,
        )
