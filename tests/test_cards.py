"""One contract test over every card, plus the card loader's error paths."""

import pytest
import yaml

from auditor import cards
from auditor.errors import InputError
from auditor.loading import load_corpus

ALL = cards.card_names()
SHIPPED = [name for name in ALL if cards.load_card(name).shipped]


def test_required_cards_exist() -> None:
    assert {"trec", "sst2", "gsm8k"} <= set(SHIPPED)
    hub_only = {"mmlu", "arc_challenge", "arc_easy", "hellaswag", "boolq", "math500", "humaneval"}
    assert hub_only <= set(ALL) - set(SHIPPED)


@pytest.mark.parametrize("name", ALL)
def test_card_contract(name: str) -> None:
    card = cards.load_card(name)
    assert card.name == name
    assert card.default_split in card.splits
    assert card.citation
    assert card.chance_level is not None and 0.0 <= card.chance_level < 1.0
    for source in card.splits.values():
        if source.hub is not None:
            assert source.hub.count("/") == 1
        else:
            assert (cards.cards_dir() / source.path).is_file()


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_splits_load_offline(name: str) -> None:
    card = cards.load_card(name)
    for split in card.splits:
        corpus = load_corpus(f"{name}:{split}")
        assert len(corpus) > 0
        assert all(text.strip() for text in corpus.texts)
        if card.label_names:
            assert set(corpus.dataset["label"]) == set(card.label_names)
        if card.answer and card.answer.extractor:
            import re

            pattern = re.compile(card.answer.extractor)
            assert all(pattern.search(answer) for answer in corpus.dataset["answer"])


def test_known_sizes() -> None:
    assert len(load_corpus("trec:train")) == 5452
    assert len(load_corpus("trec:test")) == 500
    assert len(load_corpus("sst2:test")) == 1821
    assert len(load_corpus("gsm8k:test")) == 1319


def test_include_inherits_fields() -> None:
    easy, challenge = cards.load_card("arc_easy"), cards.load_card("arc_challenge")
    assert easy.choices_field == challenge.choices_field
    assert easy.choice_labels_field == challenge.choice_labels_field == "choices.label"
    assert easy.splits["test"].config == "ARC-Easy"


def test_unknown_card_suggests() -> None:
    with pytest.raises(InputError, match="Did you mean 'trec'"):
        cards.load_card("trac")


def test_unknown_key_rejected(tmp_path, monkeypatch) -> None:
    raw = yaml.safe_load((cards.cards_dir() / "trec.yaml").read_text())
    raw["lable_names"] = raw.pop("label_names")
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(raw))
    monkeypatch.setattr(cards, "cards_dir", lambda: tmp_path)
    cards.load_card.cache_clear()
    try:
        with pytest.raises(InputError, match="lable_names"):
            cards.load_card("broken")
    finally:
        cards.load_card.cache_clear()
