"""Vectorised word and span hashing: the engine under the `exact`, `ngram` and `minhash` probes.

A batch of documents is normalised (`auditor.normalize`), joined into one UTF-8 buffer, and
hashed with numpy alone, with no Python loop per word:

- a word's hash is a bijective mix of its first eight bytes (read straight from the buffer) and
  its length; longer words fold in each further eight bytes with the splitmix64 finaliser;
- a span of words (an n-gram, or a whole benchmark item) has a polynomial hash over the word
  hashes, computed from one prefix sum (uint64 arithmetic wraps modulo 2**64; the base is odd, so
  its powers are invertible and `(P[end] - P[start]) * base**-start` is the span's hash wherever
  it stands), so any span's hash is O(1);
- every hash goes through the splitmix64 finaliser, so hashes are well spread for bitmap filters
  and for MinHash permutations;
- a batch is searched for long n-grams through a sieve (`NgramSieve`) that tests one position
  in several, so most windows are never hashed in full.

Hashes are 64-bit: for a benchmark of 10^5 n-grams against 10^10 training n-grams the expected
number of false collisions is about 10^15 / 2**64 ≈ 5e-5.
"""

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from auditor.normalize import Texts, normalized_documents

_WORD_BASE = 0x9E3779B97F4A7C15
_LENGTH_SALT = np.uint64(0xD6E8FEB86659FD93)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_SPACE, _NEWLINE = 0x20, 0x0A
_LOW_BYTES = np.array([(1 << (8 * k)) - 1 for k in range(9)], dtype=np.uint64)


def mix64(values: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, element-wise (returns a new array)."""
    x = values ^ (values >> np.uint64(30))
    x *= _MIX1
    x ^= x >> np.uint64(27)
    x *= _MIX2
    x ^= x >> np.uint64(31)
    return x


def unmix64(values: np.ndarray) -> np.ndarray:
    """The inverse of `mix64` (each xor-shift undone by repeating it, each odd multiplier by its
    inverse modulo 2**64): lets an index filter values before they are mixed."""
    x = _unshift(values, 31) * _MIX2_INVERSE
    x = _unshift(x, 27) * _MIX1_INVERSE
    return _unshift(x, 30)


_MIX1_INVERSE = np.uint64(pow(int(_MIX1), -1, 2**64))
_MIX2_INVERSE = np.uint64(pow(int(_MIX2), -1, 2**64))


def _unshift(values: np.ndarray, shift: int) -> np.ndarray:
    """x from `x ^ (x >> shift)`."""
    x = values.copy()
    for step in range(shift, 64, shift):
        x ^= values >> np.uint64(step)
    return x


def _hash_words(padded: bytes, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The hash of the word at each offset `starts` (of `lengths` bytes) in `padded[1:]`.

    Each word is read as little-endian 8-byte windows straight from the buffer (an unaligned
    uint64 view with a one-byte stride), masked to its length and mixed. `take` gathers the
    windows twice as fast as indexing, which numpy does one unaligned element at a time.
    """
    windows = np.ndarray((len(padded) - 9,), dtype="<u8", buffer=padded, offset=1, strides=(1,))
    hashes = windows.take(starts)
    hashes &= _LOW_BYTES.take(lengths, mode="clip")  # clip: lengths past 8 keep all 8 bytes
    hashes ^= lengths.view(np.uint64) * _LENGTH_SALT
    hashes *= _MIX1  # odd multiplier then xor-shift: a bijection, so no new collisions
    hashes ^= hashes >> np.uint64(29)
    long_words, chunk = np.flatnonzero(lengths > 8), 8
    while len(long_words):
        rest = _LOW_BYTES.take(lengths[long_words] - chunk, mode="clip")
        piece = windows[starts[long_words] + chunk] & rest
        hashes[long_words] = mix64(hashes[long_words] ^ piece)
        chunk += 8
        long_words = long_words[lengths[long_words] > chunk]
    return hashes


class _PowerTable:
    """base**i and base**-i modulo 2**64 for i < n, grown on demand and shared by all batches."""

    def __init__(self, base: int) -> None:
        self._base = np.uint64(base)
        self._inverse = np.uint64(pow(base, -1, 2**64))
        self.powers = np.ones(1, dtype=np.uint64)
        self.inverses = np.ones(1, dtype=np.uint64)

    def ensure(self, n: int) -> None:
        if n <= len(self.powers):
            return
        size = max(n, 2 * len(self.powers))
        self.powers = _geometric(self._base, size)
        self.inverses = _geometric(self._inverse, size)


def _geometric(base: np.uint64, n: int) -> np.ndarray:
    out = np.full(n, base, dtype=np.uint64)
    out[0] = 1
    return np.multiply.accumulate(out)


_WORD_POWERS = _PowerTable(_WORD_BASE)


@dataclass(frozen=True)
class TokenBatch:
    """Word hashes of a batch of documents, concatenated, with document boundaries.

    `word_hashes[doc_starts[d]:doc_starts[d + 1]]` are the words of document `d`.
    """

    word_hashes: np.ndarray
    doc_starts: np.ndarray

    @classmethod
    def from_texts(cls, texts: Texts) -> "TokenBatch":
        """Normalise and hash `texts` (Python strings or an Arrow string column)."""
        data, doc_bytes = normalized_documents(texts)
        return cls.from_buffer(data, len(texts), doc_bytes)

    @classmethod
    def from_buffer(
        cls, data: bytes, n_docs: int, doc_bytes: np.ndarray | None = None
    ) -> "TokenBatch":
        """Build from `normalize_batch` output: documents separated by newlines, each starting
        at offset `doc_bytes` (searched for when not given).

        Words are maximal runs of bytes above 0x20 (normalised text holds only letters, digits,
        marks, spaces and the newline separators), found with one comparison per byte; their
        boundaries are offsets into `data` (the buffer has one newline before it).
        """
        padded = b"".join((b"\n", data, b"\n", bytes(8)))
        buffer = np.frombuffer(padded, dtype=np.uint8)[: len(data) + 2]
        is_word = buffer > _SPACE
        boundaries = np.flatnonzero(is_word[1:] != is_word[:-1])  # word starts and ends, in turn
        if doc_bytes is None:
            doc_bytes = np.flatnonzero(buffer[:-1] == _NEWLINE)  # a newline's index: next offset
        doc_starts = np.searchsorted(boundaries, doc_bytes[1:]) // 2  # (no word spans a newline)
        doc_starts = np.concatenate(([0], doc_starts, [len(boundaries) // 2])).astype(np.int64)
        if len(doc_starts) != n_docs + 1:
            raise ValueError(f"buffer holds {len(doc_starts) - 1} documents, expected {n_docs}")
        word_hashes = _hash_words(padded, boundaries[0::2], boundaries[1::2] - boundaries[0::2])
        return cls(word_hashes=word_hashes, doc_starts=doc_starts)

    @property
    def n_docs(self) -> int:
        return len(self.doc_starts) - 1

    @property
    def n_words(self) -> int:
        return len(self.word_hashes)

    @cached_property
    def doc_lengths(self) -> np.ndarray:
        return np.diff(self.doc_starts)

    @cached_property
    def doc_of_word(self) -> np.ndarray:
        return np.repeat(np.arange(self.n_docs, dtype=np.int64), self.doc_lengths)

    @cached_property
    def _prefix(self) -> np.ndarray:
        n = self.n_words
        _WORD_POWERS.ensure(n + 1)
        prefix = np.empty(n + 1, dtype=np.uint64)  # filled in place: no zeroed memory, no temporary
        prefix[0] = 0
        np.multiply(self.word_hashes, _WORD_POWERS.powers[:n], out=prefix[1:])
        np.cumsum(prefix[1:], out=prefix[1:])
        return prefix

    def span_hashes(self, starts: np.ndarray, lengths: np.ndarray | int) -> np.ndarray:
        """Hash of the word spans `[start, start + length)` (callers keep spans in one doc)."""
        starts = np.asarray(starts, dtype=np.int64)
        lengths = np.broadcast_to(np.asarray(lengths, dtype=np.int64), starts.shape)
        raw = (self._prefix[starts + lengths] - self._prefix[starts]) * (
            _WORD_POWERS.inverses[starts]
        )
        return mix64(raw ^ (lengths.astype(np.uint64) * _LENGTH_SALT))

    def window_hashes(self, n: int) -> np.ndarray:
        """Hash of the n words starting at every position, ignoring document boundaries."""
        return mix64(self._unmixed_windows(n))

    def _unmixed_windows(self, n: int, step: int = 1) -> np.ndarray:
        """`window_hashes(n)` before the final `mix64`, at every `step`-th position.

        Contiguous array arithmetic with no gathers, so it is the fast way to look n-grams up:
        callers keep the hits that `within_doc` confirms (few) instead of filtering every start,
        and `HashIndex.find(unmixed=True)` mixes only the few that pass its filter.
        """
        count = self.n_words - n + 1
        if count <= 0:
            return np.zeros(0, dtype=np.uint64)
        every = slice(0, count, step)
        raw = (self._prefix[n:][every] - self._prefix[every]) * _WORD_POWERS.inverses[every]
        raw ^= np.uint64((n * int(_LENGTH_SALT)) % 2**64)
        return raw

    def _unmixed_spans(self, starts: np.ndarray, n: int) -> np.ndarray:
        """`_unmixed_windows(n)` at the positions `starts` only."""
        raw = (self._prefix[starts + n] - self._prefix[starts]) * _WORD_POWERS.inverses[starts]
        raw ^= np.uint64((n * int(_LENGTH_SALT)) % 2**64)
        return raw

    def doc_of(self, positions: np.ndarray) -> np.ndarray:
        """The document of each word position, by binary search in `doc_starts`: for a few
        positions, cheaper than building `doc_of_word`, which holds every word's."""
        return np.searchsorted(self.doc_starts, positions, side="right") - 1

    def within_doc(self, starts: np.ndarray, n: int) -> np.ndarray:
        """Which n-word windows starting at `starts` lie inside one document."""
        doc = self.doc_of_word
        return doc[starts] == doc[starts + n - 1]

    def ngram_starts(self, n: int) -> np.ndarray:
        """Word positions where an n-gram starts without crossing a document boundary."""
        if self.n_words < n:
            return np.zeros(0, dtype=np.int64)
        first = np.arange(self.n_words - n + 1, dtype=np.int64)
        return first[self.within_doc(first, n)]

    def ngrams(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(hashes, start positions) of every n-gram inside a document."""
        starts = self.ngram_starts(n)
        return self.span_hashes(starts, n), starts

    def lookup_ngrams(
        self, n: int, index: "HashIndex", sieve: "NgramSieve | None" = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(slots in `index`, start positions) of the n-grams inside a document that it holds;
        with the `sieve` of the index's n-grams, only at the positions it lets through."""
        if sieve is None:
            starts, slots = index.find(self._unmixed_windows(n), unmixed=True)
        else:
            candidates = sieve.windows(self)
            found, slots = index.find(self._unmixed_spans(candidates, n), unmixed=True)
            starts = candidates[found]
        inside = self.doc_of(starts) == self.doc_of(starts + n - 1)  # few: no doc_of_word
        return slots[inside], starts[inside]

    def doc_hashes(self) -> np.ndarray:
        """Hash of each whole document (the span of all its words)."""
        return self.span_hashes(self.doc_starts[:-1], self.doc_lengths)


SIEVE_WORDS = 8
"""Length of the k-grams an `NgramSieve` tests (at most n): shorter k-grams let through more
windows that do not match (more common phrases), longer ones are tested at more positions."""


class NgramSieve:
    """Where in a batch an n-gram of a given set can start, found by testing one position in
    `step`: those of the batch's windows to look up, a few per hit instead of every position.

    Each n-word window holds the k-gram (k = n - step + 1) at the one multiple of `step` among
    its first `step` positions. If the window is one of the set's n-grams, that k-gram is one of
    the k-grams at offsets 0 .. step - 1 of the set's n-grams, which the sieve indexes. So the
    k-grams at every `step`-th position are looked up, and only the windows around a hit are
    candidates: every window that can equal an n-gram of the set is among them.
    """

    def __init__(self, tokens: "TokenBatch", starts: np.ndarray, n: int) -> None:
        """The sieve of the n-grams of `tokens` starting at `starts`."""
        self.step = max(1, n - SIEVE_WORDS + 1)
        self.k = n - self.step + 1
        covered = np.zeros(tokens.n_words, dtype=bool)  # each k-gram once, however many n-grams
        for offset in range(self.step):
            covered[np.asarray(starts) + offset] = True
        self.index = HashIndex(tokens.span_hashes(np.flatnonzero(covered), self.k))

    def windows(self, tokens: "TokenBatch") -> np.ndarray:
        """Ascending start positions of the windows of `tokens` that may hold one of the set's
        n-grams (windows may cross documents, as with `window_hashes`)."""
        n = self.k + self.step - 1
        tested, _ = self.index.find(tokens._unmixed_windows(self.k, self.step), unmixed=True)
        before = np.arange(-self.step + 1, 1)  # window starts whose k-gram is at a tested position
        starts = (tested[:, None] * self.step + before).ravel()
        return starts[(starts >= 0) & (starts <= tokens.n_words - n)]


class HashIndex:
    """Membership of uint64 hashes in a fixed set: a bitmap on the top bits, then binary search.

    The bitmap has about 32 slots per key, so ~97% of absent hashes are rejected by one byte
    lookup; only the rest pay for the binary search. `lookup` returns each hash's slot in
    `keys` (sorted unique), or -1; `find` only the hashes found; `members` maps slots back to
    the positions of the hashes the index was built from (several positions can share a hash).
    """

    def __init__(self, hashes: np.ndarray) -> None:
        hashes = np.asarray(hashes, dtype=np.uint64)
        self._order = np.argsort(hashes, kind="stable")
        ordered = hashes[self._order]
        new = np.ones(len(ordered), dtype=bool)  # np.unique would sort the sorted hashes again
        new[1:] = ordered[1:] != ordered[:-1]
        first = np.flatnonzero(new)
        self.keys = ordered[first]
        self._offsets = np.append(first, len(ordered)).astype(np.int64)
        bits = int(np.clip(np.ceil(np.log2(max(len(self.keys), 1) * 32)), 16, 27))
        self._shift = np.uint64(64 - bits)
        self._bitmaps: dict[bool, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.keys)

    def _bitmap(self, unmixed: bool) -> np.ndarray:
        """The filter on the keys' top bits, or on those of `unmix64(keys)` (built on first use:
        most indices are only ever queried one way)."""
        if unmixed not in self._bitmaps:
            bitmap = np.zeros(1 << (64 - int(self._shift)), dtype=bool)
            bitmap[(unmix64(self.keys) if unmixed else self.keys) >> self._shift] = True
            self._bitmaps[unmixed] = bitmap
        return self._bitmaps[unmixed]

    def lookup(self, hashes: np.ndarray) -> np.ndarray:
        slots = np.full(len(hashes), -1, dtype=np.int64)
        found, positions = self.find(hashes)
        slots[found] = positions
        return slots

    def find(self, hashes: np.ndarray, unmixed: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(indices into `hashes`, slots in `keys`) of the hashes the index holds. `unmixed`:
        `hashes` are values before `mix64` (the keys are mixed); only the few that pass the
        filter are mixed, which spares a long scan the mixing of every n-gram."""
        top = (hashes >> self._shift).view(np.intp)  # an index array numpy needs not convert
        candidates = np.flatnonzero(self._bitmap(unmixed)[top])
        values = mix64(hashes[candidates]) if unmixed else hashes[candidates]
        positions = np.minimum(np.searchsorted(self.keys, values), len(self.keys) - 1)
        found = self.keys[positions] == values  # no candidates when there are no keys
        return candidates[found], positions[found]

    def members(self, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each slot, every position whose hash it holds: (index into `slots`, position)."""
        begins = self._offsets[slots]
        counts = self._offsets[slots + 1] - begins
        which = np.repeat(np.arange(len(slots), dtype=np.int64), counts)
        within = np.arange(counts.sum(), dtype=np.int64) - np.repeat(
            np.cumsum(counts) - counts, counts
        )
        return which, self._order[begins[which] + within]
