"""Loading DATA into a `Corpus`: card names, local files, `save_to_disk` folders, hub ids.

DATA is one of (DESIGN.md):
- a card name with an optional split: `trec`, `trec:train`, `gsm8k:test`;
- a local file: `.jsonl .json .csv .tsv .parquet .txt .all` (`.all`: `LABEL TEXT` lines, the
  format of the shipped TREC and SST-2 files), optionally gzip-compressed as `NAME.gz`;
- a folder written by `datasets.save_to_disk`, optionally `DIR:SPLIT` for a DatasetDict;
- `hf:ORG/NAME[:CONFIG][:SPLIT]` for users with a network (or a warm hub cache).

Every problem a user can fix raises `InputError` naming the file, line or field.
"""

import gzip
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import datasets
import pyarrow as pa

from auditor import cards
from auditor.corpus import Corpus
from auditor.errors import InputError
from auditor.loading import fields
from auditor.loading.build import FieldMap, build_corpus
from auditor.loading.encoding import check_not_compressed, decode
from auditor.loading.readers import (
    LINE_PARSERS,
    READERS,
    SUFFIX_FORMATS,
    Parser,
    ReadOptions,
    ReadResult,
    parse_lines,
)
from auditor.loading.stream import STREAMED_ENCODINGS, stream_lines

HUB_PREFIX = "hf:"


@dataclass(frozen=True)
class LoadOptions:
    """What the user may override on the command line."""

    text_field: str | None = None
    label_field: str | None = None
    encoding: str | None = None
    read: ReadOptions = field(default_factory=ReadOptions)


def load_corpus(spec: str, options: LoadOptions | None = None) -> Corpus:
    """Load DATA (see module docstring) as a corpus in the common schema."""
    options = options or LoadOptions()
    if spec.startswith(HUB_PREFIX):
        return _load_hub_spec(spec, options)
    path, split = _split_path_spec(spec)
    if path is not None:
        return _load_path(path, split, spec, options)
    name, _, split = spec.partition(":")
    if cards.is_card(name):
        return _load_card(cards.load_card(name), split or None, spec, options)
    if any(sep in spec for sep in ("/", "\\", ".")):
        raise InputError(f"{spec}: no such file or folder. Check the path.")
    raise InputError(cards._unknown_card_message(name) + f" ({spec!r} is not a file either.)")


def is_card_spec(spec: str) -> bool:
    """Whether `load_corpus` reads `spec` as a built-in card (a file or folder of that name wins,
    as it does there): the CLI's shared field and encoding options skip cards, whose own YAML
    declares both."""
    if spec.startswith(HUB_PREFIX) or _split_path_spec(spec)[0] is not None:
        return False
    return cards.is_card(spec.partition(":")[0])


def _split_path_spec(spec: str) -> tuple[Path | None, str | None]:
    path = Path(spec).expanduser()
    if path.exists():
        return path, None
    head, sep, tail = spec.rpartition(":")
    if sep and head and Path(head).expanduser().is_dir():
        return Path(head).expanduser(), tail
    return None, None


# -- cards ---------------------------------------------------------------------------------------


def _load_card(card: cards.Card, split: str | None, spec: str, options: LoadOptions) -> Corpus:
    split = split or card.default_split
    if split not in card.splits:
        raise InputError(
            f"{spec}: card {card.name!r} has no split {split!r}. "
            f"Its splits: {', '.join(card.splits)}."
        )
    source = card.splits[split]
    spec = f"{card.name}:{split}"
    mapping = FieldMap(
        text=options.text_field or card.text,
        label=options.label_field or card.label_field,
        answer=card.answer.field if card.answer else None,
        choices=card.choices_field,
        choice_labels=card.choice_labels_field,
        id=card.id_field,
        label_names=tuple(card.label_names) if card.label_names else None,
    )
    if source.hub is not None:
        dataset = _hub_dataset(source.hub, source.config, source.split or split, source.revision)
        rows = _dataset_rows(dataset, f"{HUB_PREFIX}{source.hub}")
        return build_corpus(rows, mapping, spec, split, [])
    path = cards.cards_dir() / source.path
    result, notes = _read_file(path, source.format, options.encoding or source.encoding, options)
    return build_corpus(result.rows, mapping, spec, split, notes, skipped=len(result.skipped))


# -- local files and folders -----------------------------------------------------------------


def _load_path(path: Path, split: str | None, spec: str, options: LoadOptions) -> Corpus:
    if path.is_dir():
        return _load_saved(path, split, spec, options)
    file_format = SUFFIX_FORMATS.get(Path(path.name.removesuffix(".gz")).suffix.lower())
    if file_format in LINE_PARSERS and options.encoding in STREAMED_ENCODINGS:
        return _load_streamed(path, LINE_PARSERS[file_format], split, spec, options)
    result, notes = _read_file(path, None, options.encoding, options)
    _check_not_empty(path, result.rows, result.skipped)
    mapping = _detect_fields([record for _, record in result.rows[:100]], options, str(path))
    return build_corpus(result.rows, mapping, spec, split, notes, skipped=len(result.skipped))


def _check_not_empty(path: Path, rows: list, skipped: list[str]) -> None:
    if not rows and skipped:
        raise InputError(
            f"{path}: --skip-bad-lines skipped {plural(len(skipped), 'bad line')}, every "
            f"line that holds an item, so nothing is left to audit (first: "
            f"{skipped[0].rstrip('.')})."
        )
    if not rows:
        raise InputError(f"{path}: the file holds no items (it is empty or all lines are blank).")


def _load_streamed(
    path: Path, parse: Parser, split: str | None, spec: str, options: LoadOptions
) -> Corpus:
    """A file of one item per line, read twice as a stream: its first 100 items decide the
    fields, then every item goes into Arrow chunks (`_build`); nothing holds the whole file."""
    skipped: list[str] = []

    def rows() -> Iterator[tuple[str, dict]]:
        return parse_lines(stream_lines(path, options.read), path, options.read, parse, skipped)

    sample = list(islice(rows(), 100))
    _check_not_empty(path, sample, skipped)
    mapping = _detect_fields([record for _, record in sample], options, str(path))
    skipped.clear()
    corpus = build_corpus(rows(), mapping, spec, split, [])
    if skipped:
        count = plural(len(skipped), "bad line")
        corpus.notes.append(f"{path.name}: skipped {count} (first: {skipped[0].rstrip('.')})")
        corpus.skipped_lines = len(skipped)
    return corpus


def _read_file(
    path: Path, file_format: str | None, encoding: str | None, options: LoadOptions
) -> tuple[ReadResult, list[str]]:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError(f"{path}: cannot read the file ({error.strerror}).") from error
    name = path.name
    if name.endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as error:
            raise InputError(f"{path}: named .gz but not a valid gzip file ({error}).") from error
        name = name.removesuffix(".gz")
    else:
        check_not_compressed(path, data)
    file_format = file_format or SUFFIX_FORMATS.get(Path(name).suffix.lower())
    if file_format is None:
        raise InputError(
            f"{path}: unknown file type {Path(name).suffix or '(no suffix)'!r}. Supported: "
            f"{', '.join(sorted(SUFFIX_FORMATS))} (optionally .gz), a save_to_disk folder, a "
            "card name, or hf:ORG/NAME."
        )
    if file_format == "parquet":
        return _read_parquet(path, data), []
    text, used = decode(data, path, encoding)
    notes = [f"{path.name}: decoded as {used} (detected)"] if encoding == "auto" else []
    result = READERS[file_format](text, path, options.read)
    if result.skipped:
        count = plural(len(result.skipped), "bad line")
        notes.append(f"{path.name}: skipped {count} (first: {result.skipped[0].rstrip('.')})")
    return result, notes


def _read_parquet(path: Path, data: bytes) -> ReadResult:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError) as error:
        raise InputError(f"{path}: not a readable Parquet file ({error}).") from error
    return ReadResult(rows=[(f"{path} row {i}", row) for i, row in enumerate(table.to_pylist())])


def _load_saved(path: Path, split: str | None, spec: str, options: LoadOptions) -> Corpus:
    try:
        loaded = datasets.load_from_disk(str(path))
    except (FileNotFoundError, ValueError) as error:
        raise InputError(
            f"{path}: not a folder written by datasets.save_to_disk ({error}). Pass a file or a "
            "save_to_disk folder."
        ) from error
    if isinstance(loaded, datasets.DatasetDict):
        if split is None or split not in loaded:
            raise InputError(
                f"{spec}: the folder holds splits {', '.join(loaded)}; name one as {path}:SPLIT."
            )
        loaded = loaded[split]
    elif split is not None:
        raise InputError(f"{spec}: the folder holds a single dataset; drop `:{split}`.")
    rows = list(_dataset_rows(loaded, str(path)))
    if not rows:
        raise InputError(f"{spec}: the dataset is empty.")
    mapping = _detect_fields([record for _, record in rows[:100]], options, str(path))
    return build_corpus(rows, mapping, spec, split, [])


# -- the hub ---------------------------------------------------------------------------------


def _load_hub_spec(spec: str, options: LoadOptions) -> Corpus:
    parts = spec.removeprefix(HUB_PREFIX).split(":")
    if not parts[0] or parts[0].count("/") != 1 or len(parts) > 3:
        raise InputError(f"{spec}: expected hf:ORG/NAME[:CONFIG][:SPLIT].")
    repo = parts[0]
    config = parts[1] if len(parts) == 3 else None
    split = parts[-1] if len(parts) >= 2 else "train"
    dataset = _hub_dataset(repo, config or None, split, None)
    rows = list(_dataset_rows(dataset, spec))
    if not rows:
        raise InputError(f"{spec}: the split is empty.")
    mapping = _detect_fields([record for _, record in rows[:100]], options, spec)
    return build_corpus(rows, mapping, spec, split, [])


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}


def _hub_dataset(
    repo: str, config: str | None, split: str, revision: str | None
) -> datasets.Dataset:
    try:
        return datasets.load_dataset(repo, config, split=split, revision=revision)
    except Exception as error:
        reason = (
            "HF_HUB_OFFLINE is set and the dataset is not in the local Hugging Face cache"
            if hub_offline()
            else f"{type(error).__name__}: {error}"
        )
        raise InputError(
            f"hf:{repo}{':' + config if config else ''}:{split}: cannot load from the Hugging "
            f"Face hub ({reason}). With a network, unset HF_HUB_OFFLINE; without one, download "
            "the data elsewhere and pass a local file (.jsonl, .parquet, ...) or a "
            "save_to_disk folder instead."
        ) from error


def _dataset_rows(dataset: datasets.Dataset, where: str) -> Iterator[tuple[str, dict]]:
    for index, row in enumerate(dataset):
        yield f"{where} row {index}", row


# -- records to corpus -----------------------------------------------------------------------


def _detect_fields(sample: list[dict], options: LoadOptions, where: str) -> FieldMap:
    columns = list(dict.fromkeys(key for record in sample for key in record))
    text = options.text_field or fields.detect(columns, fields.TEXT_FIELDS)
    if text is None:
        raise InputError(
            f"{where}: no text field found among the fields {', '.join(columns)}. "
            f"Name it with --text-field (tried: {', '.join(fields.TEXT_FIELDS)})."
        )
    label = options.label_field or fields.detect(columns, fields.LABEL_FIELDS)
    taken = {text, label}
    answer = fields.detect([c for c in columns if c not in taken], fields.ANSWER_FIELDS)
    choices = fields.detect([c for c in columns if c not in taken], ("choices", "options"))
    choice_labels = None
    shape = next((record[choices] for record in sample if choices in record), None)
    if isinstance(shape, dict) and "text" in shape:  # ARC's {"text": [...], "label": [...]}
        choice_labels = f"{choices}.label" if "label" in shape else None
        choices = f"{choices}.text"
    return FieldMap(
        text=text, label=label, answer=answer, choices=choices, choice_labels=choice_labels,
        id=fields.detect(columns, fields.ID_FIELDS),
    )  # fmt: skip


def plural(count: int, noun: str) -> str:
    """`1 bad line`, `2 bad lines`: counts in messages read as English."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
