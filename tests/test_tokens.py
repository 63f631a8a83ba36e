import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from auditor.normalize import normalize_batch, tokenize
from probes.tokens import HashIndex, NgramSieve, TokenBatch, mix64, unmix64

words = st.sampled_from(["a", "bb", "the", "cat", "sat", "mat", "über", "x" * 9, "y" * 17, "42"])
docs = st.lists(st.lists(words, max_size=12).map(" ".join), min_size=1, max_size=6)


@given(docs, st.integers(1, 5))
def test_ngram_hashes_equal_iff_word_sequences_equal(texts: list[str], n: int) -> None:
    batch = TokenBatch.from_texts(texts)
    hashes, starts = batch.ngrams(n)
    flat = [word for text in texts for word in tokenize(text)]
    grams = [tuple(flat[s : s + n]) for s in starts]
    for i in range(len(grams)):
        for j in range(len(grams)):
            assert (hashes[i] == hashes[j]) == (grams[i] == grams[j])


@given(docs, st.integers(1, 4))
def test_ngrams_never_cross_documents(texts: list[str], n: int) -> None:
    batch = TokenBatch.from_texts(texts)
    expected = sum(max(len(tokenize(text)) - n + 1, 0) for text in texts)
    assert len(batch.ngram_starts(n)) == expected
    assert batch.doc_lengths.tolist() == [len(tokenize(text)) for text in texts]


def test_doc_hash_is_position_independent() -> None:
    batch = TokenBatch.from_texts(["the cat sat", "x", "The CAT, sat!"])
    hashes = batch.doc_hashes()
    assert hashes[0] == hashes[2] != hashes[1]


@given(st.lists(st.integers(0, 50), max_size=40), st.lists(st.integers(0, 60), max_size=40))
def test_hash_index_lookup_and_members(built: list[int], queried: list[int]) -> None:
    keys = np.array(built, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    queries = np.array(queried, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    index = HashIndex(keys)
    slots = index.lookup(queries)
    assert [s >= 0 for s in slots] == [q in set(built) for q in queried]
    found = np.flatnonzero(slots >= 0)
    which, positions = index.members(slots[found])
    pairs = sorted(zip(found[which].tolist(), positions.tolist(), strict=True))
    expected = sorted(
        (qi, pi) for qi in found.tolist() for pi, b in enumerate(built) if b == queried[qi]
    )
    assert pairs == expected


@given(docs, st.integers(1, 4))
def test_window_hashes_agree_with_ngrams(texts: list[str], n: int) -> None:
    batch = TokenBatch.from_texts(texts)
    hashes, starts = batch.ngrams(n)
    assert batch.window_hashes(n)[starts].tolist() == hashes.tolist()
    index = HashIndex(hashes[::2])
    slots, found = batch.lookup_ngrams(n, index)
    kept = set(hashes[::2].tolist())
    expected = {s for s, h in zip(starts.tolist(), hashes.tolist(), strict=True) if h in kept}
    assert set(found.tolist()) == expected
    assert (index.keys[slots] == batch.window_hashes(n)[found]).all()


@given(st.lists(st.integers(0, 2**64 - 1), max_size=20))
def test_unmix64_inverts_mix64(values: list[int]) -> None:
    array = np.array(values, dtype=np.uint64)
    assert unmix64(mix64(array)).tolist() == values == mix64(unmix64(array)).tolist()


few_words = st.lists(st.sampled_from(["a", "b", "über"]), max_size=40).map(" ".join)


@given(st.lists(few_words, min_size=1, max_size=5), st.integers(1, 16), st.integers(1, 3))
def test_sieve_lets_every_indexed_ngram_through(texts: list[str], n: int, every: int) -> None:
    batch = TokenBatch.from_texts(texts)
    hashes, starts = batch.ngrams(n)
    index = HashIndex(hashes[::every])
    sieve = NgramSieve(batch, starts[::every], n)
    slots, found = batch.lookup_ngrams(n, index, sieve)
    expected_slots, expected = batch.lookup_ngrams(n, index)
    assert found.tolist() == expected.tolist() and slots.tolist() == expected_slots.tolist()
    assert set(starts[::every].tolist()) <= set(found.tolist())


@given(docs)
def test_doc_of_agrees_with_doc_of_word(texts: list[str]) -> None:
    batch = TokenBatch.from_texts(texts)
    positions = np.arange(batch.n_words)
    assert batch.doc_of(positions).tolist() == batch.doc_of_word.tolist()


folding = st.text(alphabet="ab .’ﬁßİ\u0301\n", max_size=60)  # folds that change lengths


@given(st.lists(st.one_of(st.text(max_size=30), folding), min_size=1, max_size=6))
def test_document_starts_from_normalisation_match_the_separators(texts: list[str]) -> None:
    given_starts = TokenBatch.from_texts(texts)
    searched = TokenBatch.from_buffer(normalize_batch(texts), len(texts))
    assert given_starts.doc_starts.tolist() == searched.doc_starts.tolist()
    assert given_starts.word_hashes.tolist() == searched.word_hashes.tolist()
