import unicodedata

import pyarrow as pa
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from auditor import normalize as normalize_module
from auditor.normalize import normalize, normalize_batch, tokenize

texts = st.text(max_size=80)
ascii_texts = st.text(alphabet=st.characters(max_codepoint=127), max_size=80)


@given(texts)
def test_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@given(st.lists(st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1), max_size=8))
def test_invariant_to_whitespace_case_and_punctuation(words: list[str]) -> None:
    # Case changes Unicode itself does not round-trip (Turkish dotless i: "ı".upper() == "I")
    # are out of scope.
    assume(all(word.upper().casefold() == word.casefold() for word in words))
    plain = " ".join(words)
    noisy = "  ,\t".join(word.upper() for word in words) + " ?!\n"
    assert normalize(noisy) == normalize(plain)


@given(ascii_texts)
def test_ascii_fast_path_equals_unicode_path(text: str) -> None:
    general = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    expected = " ".join("".join(c if c.isalnum() else " " for c in general).split())
    assert normalize(text) == expected


@given(st.lists(texts, max_size=6))
def test_batch_matches_per_document(docs: list[str]) -> None:
    joined = normalize_batch(docs).decode("utf-8").split("\n") if docs else []
    assert [" ".join(part.split()) for part in joined] == [normalize(doc) for doc in docs]


def test_known_foldings() -> None:
    assert tokenize("Don't  STOP—the ﬁnal Straße, ２０２４!") == [
        "don", "t", "stop", "the", "final", "strasse", "2024",
    ]  # fmt: skip
    assert normalize("café") == normalize("cafe\u0301")  # composed and decomposed é agree


# Characters that compose, decompose, case-fold to several characters or fold to spaces, and
# ASCII runs long enough to separate the segments `normalize_batch` folds one by one.
TRICKY = "\u0301\u0327\u0338\u0345\u1100\u1161\u11a8\uac00ﬁ²㎏ⅫİßǰΣςΐǅ’–×€é\xa0\u200bЖ中\x00<=>E"
pieces = st.one_of(st.text(alphabet=TRICKY, max_size=4), st.text(alphabet="aZ9 .\n", max_size=40))
tricky_docs = st.lists(st.lists(pieces, max_size=8).map("".join), max_size=6)


@given(tricky_docs)
def test_batch_folds_segments_like_whole_documents(docs: list[str]) -> None:
    joined = normalize_batch(docs).decode("utf-8").split("\n") if docs else []
    assert [" ".join(part.split()) for part in joined] == [normalize(doc) for doc in docs]


@settings(deadline=None)  # the first pa.array of Python strings imports pandas
@given(tricky_docs, st.integers(0, 3))
def test_batch_reads_arrow_columns_like_python_strings(docs: list[str], cut: int) -> None:
    cut = min(cut, len(docs))
    column = pa.chunked_array(
        [pa.array(docs[:cut], pa.string()), pa.array(docs[cut:], pa.string())]
    )
    assert normalize_batch(column) == normalize_batch(docs)
    assert normalize_batch(pa.array(["x"] + docs).slice(1)) == normalize_batch(docs)
    assert normalize_batch(pa.array(docs, pa.large_string())) == normalize_batch(docs)


def test_batch_folds_the_same_when_the_fold_cache_is_cleared(monkeypatch) -> None:
    monkeypatch.setattr(normalize_module, "_FOLDED_MAX", 1)  # cleared on almost every batch
    docs = ["café ’x’", "naïve – ok", "ﬁn Straße", "café ’x’"]
    for _ in range(3):
        joined = normalize_batch(docs).decode("utf-8").split("\n")
        assert [" ".join(part.split()) for part in joined] == [normalize(doc) for doc in docs]
