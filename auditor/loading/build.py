"""Records into a corpus in the common schema (`auditor.corpus`): which record fields become
which columns (`FieldMap`), and the rows written, a chunk at a time, into a spool file on disk
(`auditor.loading.spool`), so building a corpus never holds it in memory. Every loader of
`auditor.loading` ends here; every problem with a record names where it is.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import pyarrow as pa
from datasets.fingerprint import generate_random_fingerprint

from auditor.corpus import Corpus
from auditor.errors import InputError
from auditor.loading import fields
from auditor.loading.spool import write_spool


@dataclass(frozen=True)
class FieldMap:
    """Which record fields become the corpus columns."""

    text: str
    label: str | None = None
    answer: str | None = None
    choices: str | None = None
    choice_labels: str | None = None
    """Each choice's own label (ARC's `choices.label`): the gold label becomes its 0-based index."""
    id: str | None = None
    label_names: tuple[str, ...] | None = None


CHUNK_ROWS = 10_000
"""Rows gathered as Python values before they become Arrow."""


SCHEMA = pa.schema([("id", pa.string()), ("text", pa.string()), ("label", pa.string()),
                    ("answer", pa.string()), ("choices", pa.list_(pa.string()))])  # fmt: skip
"""The common schema's columns as Arrow types (`auditor.corpus`)."""


def build_corpus(
    rows: Iterable[tuple[str, dict]],
    mapping: FieldMap,
    spec: str,
    split: str | None,
    notes: list,
    skipped: int = 0,
) -> Corpus:
    """The corpus of `rows`, written `CHUNK_ROWS` rows at a time into a spool file on disk
    (`auditor.loading.spool`), so memory holds one chunk of rows, never the corpus. Columns no
    row fills are left out (`id` and `text` always stay)."""
    filled = {name: False for name in SCHEMA.names}
    id_prefix = Path(spec).name if Path(spec).exists() else spec

    def chunks() -> Iterator[pa.Table]:
        columns: dict[str, list[Any]] = {name: [] for name in SCHEMA.names}
        for index, (where, record) in enumerate(rows):
            _append(columns, record, mapping, where, f"{id_prefix}:{index}")
            if len(columns["id"]) == CHUNK_ROWS:
                yield _chunk(columns, filled)
        if columns["id"]:
            yield _chunk(columns, filled)
        elif not filled["id"]:
            raise InputError(f"{spec}: the split is empty; there is nothing to audit.")

    spool = write_spool(chunks(), SCHEMA)
    kept = [name for name in SCHEMA.names if name in ("id", "text") or filled[name]]
    # A random datasets fingerprint: without one, datasets hashes the table (for an in-memory
    # table by pickling all of it); audit's caches key on `Corpus.fingerprint`.
    table = datasets.table.MemoryMappedTable.from_file(str(spool.path))
    dataset = datasets.Dataset(table, fingerprint=generate_random_fingerprint())
    return Corpus(
        dataset=dataset.select_columns(kept),
        source=spec,
        split=split,
        label_names=list(mapping.label_names) if mapping.label_names else None,
        notes=notes,
        skipped_lines=skipped,
        spool=spool,
    )


def _append(columns: dict[str, list], record: dict, mapping: FieldMap, where: str,
            default_id: str) -> None:  # fmt: skip
    """One record's row in the common schema, appended to `columns`."""
    text = fields.extract_text(record, mapping.text, where)
    if not text.strip():
        raise InputError(
            f"{where}: the text field {mapping.text!r} is empty. Remove the item or choose "
            "another field with --text-field."
        )
    row_id = fields.optional_value(record, mapping.id)
    columns["id"].append(str(row_id) if row_id is not None else default_id)
    columns["text"].append(text)
    columns["label"].append(_label(record, mapping, where))
    answer = fields.optional_value(record, mapping.answer)
    columns["answer"].append(None if answer is None else fields.as_text(answer))
    columns["choices"].append(_choices(record, mapping, where))


def _choices(record: dict, mapping: FieldMap, where: str) -> list[str] | None:
    choices = fields.optional_value(record, mapping.choices)
    if choices is None:
        return None
    if not isinstance(choices, list):
        raise InputError(
            f"{where}: the choices field {mapping.choices!r} holds {type(choices).__name__}, "
            "not a list of answer options. Give each item a list, or point the card's "
            "choices_field at one."
        )
    return [str(choice) for choice in choices]


def _chunk(columns: dict[str, list], filled: dict[str, bool]) -> pa.Table:
    """The gathered rows as an Arrow table (emptying `columns`); notes which columns hold a
    value."""
    table = pa.Table.from_pydict(columns, schema=SCHEMA)
    for name in SCHEMA.names:
        filled[name] = filled[name] or table.column(name).null_count < len(table)
        columns[name].clear()
    return table


def _label(record: dict, mapping: FieldMap, where: str) -> str | None:
    if mapping.label is None:
        return None
    value = fields.resolve(record, mapping.label)
    if value is fields._MISSING:
        raise fields.missing_field_error(mapping.label, list(record), where)
    if value is None:
        return None
    if isinstance(value, dict | list):
        shape = "an object" if isinstance(value, dict) else "a list"
        raise InputError(
            f"{where}: the label field {mapping.label!r} holds {shape}, not one label. Name the "
            "field that holds the label with --label-field (a dotted path reaches inside)."
        )
    if mapping.choice_labels is not None:
        return _choice_position(record, mapping.choice_labels, value, where)
    names = mapping.label_names
    if names is None:
        return str(value)
    if str(value) in names:
        return str(value)
    try:
        index = int(value)
    except (TypeError, ValueError):
        index = -1
    if 0 <= index < len(names) and str(index) == str(value).strip():
        return names[index]
    raise InputError(
        f"{where}: label {value!r} is not in the card's label set {list(names)} "
        f"(nor an index 0..{len(names) - 1}). Check --label-field, or the card's label_names."
    )


def _choice_position(record: dict, labels_field: str, value: Any, where: str) -> str:
    """The gold label's 0-based position among the choices' own labels ('1' of 1..4 -> '0')."""
    labels = fields.optional_value(record, labels_field)
    if labels is None:
        raise fields.missing_field_error(labels_field, list(record), where)
    names = [str(label).strip() for label in labels]
    gold = str(value).strip()
    if gold not in names:
        raise InputError(
            f"{where}: label {gold!r} is not one of the choice labels {names} "
            f"(field {labels_field!r}). Check --label-field."
        )
    return str(names.index(gold))
