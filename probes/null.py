"""The null sample: training-corpus texts shaped like benchmark items, scored against the rest of
the corpus, so each probe learns what score two *distinct* documents of this corpus reach.

A fixed threshold (cosine 0.88, coverage 0.8) means a different false-positive rate on every
corpus: long formulaic documents share more n-grams, a corpus of near-paraphrased questions
(TREC) sits closer in embedding space. The calibrated probes (`Probe.calibrates`) therefore
also score these queries during the same pass, each query against every training document but
its own, and `auditor.calibration` sets their thresholds at a target false-positive rate on
the resulting null distribution.

The queries: `size` training documents drawn without replacement (seeded); from each, its
opening: its first line (up to the first line break), whole when it is no longer than the
benchmark's 95th-percentile item, else cut to as many words as a benchmark item drawn at random
(seeded) has. Openings, because in post-training data the prompt comes first and a benchmark
item is a prompt; the first line, because the prompt ends there in most formats (a question,
then its solution). What else was measured, on GSM8K (benchmark: test questions; corpus:
training question + solution documents) and on a same-distribution split of TREC:

- spans at random positions are mostly solution text, whose formulaic lines resemble each other
  far more than questions resemble documents: they overstated GSM8K's rate 5-10 times;
- openings cut at a random item length run into the solution (GSM8K: overstated 5 times) or
  truncate whole questions to their first words, which resemble other documents less (TREC
  split: the rate measured on items was twice the estimate);
- whole first lines hold on the TREC and SST-2 splits (`tests/test_calibration.py`) and
  overstate GSM8K's rate 2-5 times, because GSM8K's training set holds many templated twins
  (the same problem with other names and numbers), which its test questions were kept apart
  from.

A document that occurs more than once in the corpus (same normalised text) would find its own
copy; such queries are dropped (`duplicated`, filled in during the pass by `DuplicateScan`), so
the null is "two distinct documents".
"""

import hashlib
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from auditor.corpus import Corpus
from auditor.normalize import normalize
from probes.base import Scan, TrainBatch

DEFAULT_SIZE = 2000
"""Queries: at a 1% target, about 20 null scores lie above the threshold (its standard error
about 0.2 percentage points)."""


@dataclass
class NullSample:
    rows: np.ndarray
    """Corpus row of each query's own document (excluded when the query is scored)."""
    texts: list[str]
    """The query texts: spans of those documents sized like benchmark items."""
    seed: int
    duplicated: np.ndarray = field(init=False)
    """Queries whose document occurs more than once in the corpus (dropped from the null)."""

    def __post_init__(self) -> None:
        self.duplicated = np.zeros(len(self.rows), dtype=bool)
        self._hash_of_row: dict[int, int] = {}
        self._queries_of_hash: dict[int, list[int]] = {}

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def valid(self) -> np.ndarray:
        return ~self.duplicated

    def remember(self, documents: dict[int, str]) -> None:
        """Digest the sampled documents' normalised text (before the pass)."""
        for query, row in enumerate(self.rows.tolist()):
            key = digest(documents[row])
            self._hash_of_row[row] = key
            self._queries_of_hash.setdefault(key, []).append(query)

    def absorb(self, start: int, digests: list[int]) -> None:
        """Mark queries whose document has a copy among the rows from `start` whose texts have
        these digests (other than itself)."""
        for offset, key in enumerate(digests):
            queries = self._queries_of_hash.get(key)
            if queries is None:
                continue
            for query in queries:
                if int(self.rows[query]) != start + offset:
                    self.duplicated[query] = True

    def own_rows(self, start: int, count: int) -> tuple[np.ndarray, np.ndarray]:
        """(query, row - start) pairs whose row lies in start..start+count: what a scan of
        that batch must not count for the query."""
        inside = (self.rows >= start) & (self.rows < start + count)
        queries = np.flatnonzero(inside)
        return queries, self.rows[queries] - start


def digest(text: str) -> int:
    """64 bits of BLAKE2b of the normalised text: the same in every process (Python's `hash` of
    a string is salted per process, and the digests are computed on the pass's workers)."""
    data = normalize(text).encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


class DuplicateScan(Scan):
    """The null sample's duplicate check as a step of the pass: `prepare`, on the workers with
    the probes' (normalising every training text is GIL-bound work), digests each text;
    `absorb`, in batch order, marks the queries whose document has a copy. It describes itself
    to the pass's engine as a probe does (`process_safe`, `requires`)."""

    process_safe: ClassVar[bool] = True
    requires: ClassVar[frozenset[str]] = frozenset({"text"})

    def __init__(self, null: NullSample) -> None:
        self.null = null

    def prepare(self, batch: TrainBatch) -> list[int]:
        return [digest(text) for text in batch.texts]

    def absorb(self, batch: TrainBatch, prepared: list[int]) -> None:
        self.null.absorb(batch.start, prepared)

    def finish(self) -> None:
        """Nothing to report: the null sample itself holds the result (`duplicated`)."""


def with_null(bench_texts: list[str], null: NullSample | None) -> tuple[list[str], np.ndarray]:
    """The texts a calibrating probe indexes, benchmark items then null queries, and each one's
    own corpus row (-1 for benchmark items), which its scan must never count."""
    texts = list(bench_texts) + (list(null.texts) if null is not None else [])
    own_row = np.full(len(texts), -1, dtype=np.int64)
    if null is not None:
        own_row[len(bench_texts) :] = null.rows
    return texts, own_row


def draw_null(train: Corpus, bench_lengths: np.ndarray, size: int, seed: int) -> NullSample:
    """`size` query spans from distinct training documents (all of them for a smaller corpus)."""
    rng = np.random.default_rng(seed)
    count = min(size, len(train))
    rows = np.sort(rng.choice(len(train), size=count, replace=False))
    documents = train.texts_at(rows.tolist())
    lengths = bench_lengths[bench_lengths > 0]
    longest = np.percentile(lengths, 95) if len(lengths) else np.inf
    texts = []
    for row in rows.tolist():
        first_line = documents[row].strip().split("\n", 1)[0]
        words = first_line.split()
        want = int(rng.choice(lengths)) if len(lengths) else len(words)
        texts.append(first_line if len(words) <= longest else " ".join(words[:want]))
    sample = NullSample(rows=rows, texts=texts, seed=seed)
    sample.remember(documents)
    return sample
