"""Benchmark cards: declarative YAML files in `datasets_meta/` describing one benchmark each.

A card says where each split comes from (a file the package ships, or a Hugging Face hub id with
config, split and revision, the arguments of `datasets.load_dataset`), how to parse it, which
fields form the text the model reads, the labels or answer extractor, the metric, chance level and
citation. Cards load with `yaml.safe_load` (no code runs) and validate against a pydantic model
that forbids unknown keys, so a misspelled field is an error, not a silent default. `include:`
names another card whose fields this one starts from.
"""

import difflib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from auditor.errors import InputError

TaskType = Literal["classification", "multiple_choice", "generation"]
FileFormat = Literal["jsonl", "json", "csv", "tsv", "parquet", "txt", "label_text"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SplitSource(_Strict):
    """Where one split comes from: exactly one of `path` (shipped file) or `hub`."""

    path: str | None = Field(None, description="File under datasets_meta/, relative to it.")
    format: FileFormat | None = Field(None, description="Parser; default from the suffix.")
    encoding: str = Field("utf-8", description="Text encoding of `path`.")
    hub: str | None = Field(None, description="Hugging Face dataset id, ORG/NAME.")
    config: str | None = None
    split: str | None = Field(None, description="Split name on the hub (default: card's key).")
    revision: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> "SplitSource":
        if (self.path is None) == (self.hub is None):
            raise ValueError("a split needs exactly one of `path` or `hub`")
        return self


class AnswerSpec(_Strict):
    """How to read the gold answer of a generation item."""

    field: str
    extractor: str | None = Field(
        None, description="Regex whose group `answer` (or group 1) is the final answer."
    )
    numeric: bool = Field(False, description="Compare answers as numbers.")


class Card(_Strict):
    """One benchmark."""

    name: str
    description: str
    task: TaskType
    version: int = Field(1, description="Bump when the card's meaning changes.")
    splits: dict[str, SplitSource]
    default_split: str = "test"
    text: str = Field(description="A field path (`question`, `choices.text`) or a template.")
    id_field: str | None = None
    label_field: str | None = None
    label_names: list[str] | None = None
    choices_field: str | None = None
    choice_labels_field: str | None = Field(
        None,
        description="The field listing each choice's own label (ARC: `choices.label`, letters or "
        "digits); the gold label is found in it, so '1' means the first choice, not the second.",
    )
    answer: AnswerSpec | None = None
    metric: str = "accuracy"
    chance: float | None = Field(None, ge=0.0, le=1.0)
    citation: str = ""
    provenance: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> "Card":
        if self.default_split not in self.splits:
            raise ValueError(f"default_split {self.default_split!r} is not one of the splits")
        if self.task == "classification" and not self.label_field:
            raise ValueError("a classification card needs `label_field`")
        if self.task == "multiple_choice" and not (self.choices_field and self.label_field):
            raise ValueError("a multiple_choice card needs `choices_field` and `label_field`")
        if self.task == "generation" and self.answer is None:
            raise ValueError("a generation card needs `answer`")
        return self

    @property
    def chance_level(self) -> float | None:
        """Accuracy of uniform guessing: stated on the card, else 1 / number of labels."""
        if self.chance is not None:
            return self.chance
        if self.label_names:
            return 1.0 / len(self.label_names)
        return None

    @property
    def shipped(self) -> bool:
        """True when every split is a file the package ships (works offline)."""
        return all(source.path is not None for source in self.splits.values())


def cards_dir() -> Path:
    return Path(str(resources.files("datasets_meta")))


def _raw_card(name: str, seen: tuple[str, ...] = ()) -> dict:
    path = cards_dir() / f"{name}.yaml"
    if not path.is_file():
        raise InputError(_unknown_card_message(name))
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict):
        raise InputError(f"{path}: a card must be a YAML mapping, found {type(data).__name__}.")
    parent = data.pop("include", None)
    if parent is None:
        return data
    if parent in (name, *seen):
        raise InputError(f"{path}: `include: {parent}` makes a cycle ({' -> '.join(seen)}).")
    merged = _raw_card(parent, (*seen, name))
    merged.pop("name", None)
    merged.update(data)
    return merged


@cache
def load_card(name: str) -> Card:
    """The validated card `name`; unknown names get a did-you-mean message."""
    raw = _raw_card(name)
    try:
        return Card.model_validate(raw)
    except ValidationError as error:
        path = cards_dir() / f"{name}.yaml"
        raise InputError(f"{path}: invalid card.\n{error}") from error


def card_names() -> list[str]:
    return sorted(path.stem for path in cards_dir().glob("*.yaml"))


def is_card(name: str) -> bool:
    return name in card_names()


def _unknown_card_message(name: str) -> str:
    names = card_names()
    close = difflib.get_close_matches(name, names, n=3)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return (
        f"Unknown benchmark card {name!r}.{hint} Known cards: {', '.join(names)}. "
        "Run `audit bench list` to see them, or pass a file path."
    )
