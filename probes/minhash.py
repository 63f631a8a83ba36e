"""`minhash`: near-duplicates by estimated Jaccard similarity of word 5-gram shingles.

MinHash (Broder 1997) with LSH banding, the near-duplicate method of web-scale deduplication
(Lee et al. 2022 use word 5-grams too). Shingles are word 5-grams of the normalised text
(`auditor.normalize`); an item shorter than 5 words is one shingle. Each of `num_perm`
permutations is a random multiply-add over the 64-bit shingle hashes (`probes.tokens`); the
signature keeps each permutation's minimum, and the share of equal minima between two signatures
estimates their Jaccard similarity (standard error about sqrt(J(1-J)/num_perm), 0.044 at J = 0.5).

Default threshold 0.5: a GSM8K question (≈45 words, ≈40 shingles) with two numbers changed keeps
about 30 of 50 distinct shingles (J ≈ 0.6) and is caught; unrelated items of the same benchmark
family share almost no 5-grams (J < 0.1). Paraphrases that reword most of the text fall below any
useful Jaccard threshold; that is the `embedding` probe's job.

Candidates come from LSH: `bands` x `rows` = `num_perm`, the most rows per band with which a pair
at the threshold is still a candidate with probability 0.99 (42 x 3 at 0.5: a pair with J = 0.5
is missed with probability 0.004, and one with J = 0.64 with 1e-5). datasketch's split, which
minimises false-positive plus false-negative mass, gives 25 x 5, which misses a pair at J = 0.5
45% of the time and at J = 0.64 5% of the time, although its full-signature estimate would flag
it. Each candidate pair is then scored by its full signature, so the reported score never
depends on the banding. The benchmark is indexed; the training stream is signed and looked up
band by band.
"""

from typing import Any, ClassVar, Self

import numpy as np

from auditor.corpus import Corpus
from probes.base import FitContext, ItemScore, Match, Probe, ProbeResult, Scan, TrainBatch
from probes.tokens import HashIndex, TokenBatch, mix64

_PERM_BLOCK = 16
LSH_RECALL = 0.99
"""Probability that LSH makes a pair at the flag threshold a candidate."""


def lsh_bands(threshold: float, num_perm: int, recall: float = LSH_RECALL) -> tuple[int, int]:
    """(bands, rows): the most rows per band (fewest candidate pairs) with which a pair at the
    threshold still becomes a candidate with probability >= `recall`.

    Every candidate is scored by its full signature, so a false candidate costs time only, while
    a pair the bands miss is a leak never reported: recall at the threshold is the constraint."""
    for rows in range(num_perm, 0, -1):
        bands = num_perm // rows
        if 1.0 - (1.0 - threshold**rows) ** bands >= recall:
            return bands, rows
    return num_perm, 1


def signatures(tokens: TokenBatch, mult: np.ndarray, add: np.ndarray, shingle: int):
    """(documents with words, their signatures) for every non-empty document of `tokens`."""
    hashes, starts = tokens.ngrams(shingle)
    docs = tokens.doc_of_word[starts]
    short = np.flatnonzero((tokens.doc_lengths > 0) & (tokens.doc_lengths < shingle))
    if len(short):
        hashes = np.concatenate((hashes, tokens.doc_hashes()[short]))
        docs = np.concatenate((docs, short))
        order = np.argsort(docs, kind="stable")
        hashes, docs = hashes[order], docs[order]
    present, bounds = np.unique(docs, return_index=True)
    signature = np.empty((len(present), len(mult)), dtype=np.uint64)
    if not len(present):
        return present, signature
    for block in range(0, len(mult), _PERM_BLOCK):
        cut = slice(block, block + _PERM_BLOCK)
        permuted = hashes[:, None] * mult[None, cut] + add[None, cut]
        signature[:, cut] = np.minimum.reduceat(permuted, bounds, axis=0)
    return present, signature


class MinHashProbe(Probe):
    name: ClassVar[str] = "minhash"
    kind: ClassVar[str] = "overlap"
    requires: ClassVar[frozenset[str]] = frozenset({"tokens"})
    process_safe: ClassVar[bool] = True
    bounds: ClassVar[dict[str, tuple[float | None, float | None]]] = {
        "threshold": (0.01, 1), "num_perm": (1, None), "shingle": (1, None),
    }  # fmt: skip

    def __init__(
        self, *, threshold: float = 0.5, num_perm: int = 128, shingle: int = 5, seed: int = 0
    ) -> None:
        self.threshold = threshold
        self.num_perm = num_perm
        self.shingle = shingle
        self.seed = seed

    def fit(self, bench: Corpus, context: FitContext | None = None) -> Self:
        rng = np.random.default_rng(self.seed)
        high = np.iinfo(np.uint64).max
        self.mult_ = rng.integers(0, high, self.num_perm, dtype=np.uint64, endpoint=True) | 1
        self.add_ = rng.integers(0, high, self.num_perm, dtype=np.uint64, endpoint=True)
        self.bands_, self.rows_ = lsh_bands(self.threshold, self.num_perm)
        self.band_salt_ = rng.integers(0, high, self.rows_, dtype=np.uint64, endpoint=True) | 1
        tokens = TokenBatch.from_texts(bench.texts)
        self.n_items_ = tokens.n_docs
        self.items_, self.signatures_ = signatures(tokens, self.mult_, self.add_, self.shingle)
        self.band_index_ = [HashIndex(keys) for keys in self._band_keys(self.signatures_)]
        return self

    def _band_keys(self, signature: np.ndarray) -> list[np.ndarray]:
        keys = []
        for band in range(self.bands_):
            rows = signature[:, band * self.rows_ : (band + 1) * self.rows_]
            keys.append(mix64((rows * self.band_salt_[None, :]).sum(axis=1) ^ np.uint64(band)))
        return keys

    def describe(self, info: dict[str, Any]) -> str:
        lsh = f", lsh={info['bands']}x{info['rows']}" if "bands" in info else ""
        return f"threshold={self.threshold}, num_perm={self.num_perm}, shingle={self.shingle}{lsh}"

    def start_scan(self) -> "MinHashScan":
        self._check_fitted()
        return MinHashScan(self)


class MinHashScan(Scan):
    def __init__(self, probe: MinHashProbe) -> None:
        self.probe = probe
        self.best = np.zeros(probe.n_items_)
        self.train_index = np.full(probe.n_items_, -1, dtype=np.int64)
        self.train_id: dict[int, str] = {}
        self.candidates = 0

    def prepare(self, batch: TrainBatch):
        """Candidate pairs from LSH, scored by full signatures: (item, jaccard, doc), best first."""
        probe = self.probe
        docs, signature = signatures(batch.tokens, probe.mult_, probe.add_, probe.shingle)
        pairs = [np.zeros((0, 2), np.int64)]
        for index, keys in zip(probe.band_index_, probe._band_keys(signature), strict=True):
            slots = index.lookup(keys)
            hit = np.flatnonzero(slots >= 0)
            which, member = index.members(slots[hit])
            pairs.append(np.stack((hit[which], member), axis=1))
        pairs = np.unique(np.concatenate(pairs), axis=0)
        train_row, bench_row = pairs[:, 0], pairs[:, 1]
        jaccard = (signature[train_row] == probe.signatures_[bench_row]).mean(axis=1)
        doc = docs[train_row]
        order = np.lexsort((doc, -jaccard))  # best first; ties: earliest training item
        return probe.items_[bench_row][order], jaccard[order], doc[order]

    def absorb(self, batch: TrainBatch, prepared) -> None:
        items, jaccards, docs = prepared
        self.candidates += len(items)
        for item, jaccard, doc in zip(items, jaccards, docs, strict=True):
            if jaccard > self.best[item]:
                self.best[item], self.train_index[item] = jaccard, batch.start + doc
                self.train_id[int(item)] = batch.ids[doc]

    def finish(self) -> ProbeResult:
        probe = self.probe
        items = []
        for i, score in enumerate(self.best):
            match = None
            if self.train_index[i] >= 0:
                match = Match(int(self.train_index[i]), self.train_id[i], None)
            items.append(ItemScore(float(score), bool(score >= probe.threshold), match))
        return probe.result(
            items,
            info={
                "score": f"estimated Jaccard similarity of word {probe.shingle}-gram shingles",
                "bands": probe.bands_,
                "rows": probe.rows_,
                "candidate_pairs": self.candidates,
            },
        )
