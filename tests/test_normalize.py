import unicodedata

from hypothesis import assume, given
from hypothesis import strategies as st

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
