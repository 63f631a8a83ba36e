"""The corpus: a loaded dataset in the common schema every probe reads.

Columns: `id` and `text` always; `label`, `answer`, `choices` when the source has them. Backed by
a `datasets.Dataset` and carrying a content fingerprint that keys every cache (embeddings,
indices). A loaded corpus lives in a spool file on disk (`auditor.loading.spool`): its dataset
memory-maps the file for random access and the pass reads its batches from the file, so memory
does not grow with the corpus; a corpus made from an in-memory dataset (tests) is sliced in
memory.
"""

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # datasets is imported by whoever builds a corpus; reading one's type is free
    import datasets
    import pyarrow as pa

    from auditor.loading.spool import Spool

SCHEMA_COLUMNS = ("id", "text", "label", "answer", "choices")


@dataclass(frozen=True)
class CorpusBatch:
    """A contiguous slice of a corpus: rows `start .. start + len(self)`, as the Arrow columns
    `id`, `text` and `label` (if any). The Python lists are made on first use: a pass that only
    hashes the texts reads their UTF-8 bytes straight from Arrow and never converts them."""

    start: int
    rows: "pa.Table"

    def __len__(self) -> int:
        return self.rows.num_rows

    @property
    def text_column(self) -> "pa.ChunkedArray":
        return self.rows.column("text")

    @cached_property
    def texts(self) -> list[str]:
        return self.text_column.to_pylist()

    @cached_property
    def ids(self) -> list[str]:
        return self.rows.column("id").to_pylist()

    @cached_property
    def labels(self) -> list[str | None] | None:
        names = self.rows.column_names
        return self.rows.column("label").to_pylist() if "label" in names else None


@dataclass
class Corpus:
    """A dataset in the common schema, with where it came from."""

    dataset: "datasets.Dataset"
    source: str
    split: str | None = None
    label_names: list[str] | None = None
    notes: list[str] = field(default_factory=list)
    """What loading decided on the user's behalf (detected encoding, skipped lines, fields)."""
    skipped_lines: int = 0
    """Malformed lines `--skip-bad-lines` left out: reported, so a result from part of a file
    never reads as one from the whole file."""
    spool: "Spool | None" = None
    """The file the dataset maps, with its batches' offsets (None: an in-memory dataset)."""

    def __post_init__(self) -> None:
        missing = {"id", "text"} - set(self.dataset.column_names)
        if missing:
            raise ValueError(f"corpus dataset lacks columns {sorted(missing)}")

    def __len__(self) -> int:
        return len(self.dataset)

    @property
    def texts(self) -> list[str]:
        return self.dataset["text"][:]

    @property
    def ids(self) -> list[str]:
        return self.dataset["id"][:]

    def texts_at(self, rows: list[int]) -> dict[int, str]:
        """The texts of some rows, read by row (not the whole column): {row: text}."""
        wanted = sorted(set(rows))
        if not wanted:
            return {}
        if self.spool is not None:
            texts = self.spool.take(wanted, ["text"]).column("text").to_pylist()
        else:  # no select(): no fingerprint
            texts = self._arrow_rows[wanted].column("text").to_pylist()
        return dict(zip(wanted, texts, strict=True))

    def column(self, name: str) -> list | None:
        """A schema column as a list (`label`, `answer`, `choices`), or None if absent."""
        return self.dataset[name][:] if name in self.dataset.column_names else None

    @cached_property
    def fingerprint(self) -> str:
        """SHA-256 of the texts in order: equal texts, equal fingerprint, whatever the source.

        It keys caches of what is computed from the texts (embeddings), so it ignores ids.
        """
        digest = hashlib.sha256()
        for batch in self.batches(10_000):
            for text in batch.texts:
                digest.update(text.encode("utf-8", "surrogatepass") + b"\x00")
        return digest.hexdigest()[:16]

    def batches(self, size: int) -> Iterator[CorpusBatch]:
        """Consecutive slices of at most `size` rows, reading `id`, `text` and `label`."""
        for start in range(0, len(self), size):
            yield self.batch_at(start, size)

    def batch_at(self, start: int, size: int) -> CorpusBatch:
        """Rows `start .. start + size` as one batch (what `batches` yields there)."""
        if self.spool is not None:
            return CorpusBatch(start, self.spool.slice(start, size, self._batch_columns))
        return CorpusBatch(start, self._arrow_rows[start : start + size])

    @property
    def _batch_columns(self) -> list[str]:
        return [name for name in ("id", "text", "label") if name in self.dataset.column_names]

    @cached_property
    def _arrow_rows(self) -> "datasets.Dataset":
        """The dataset's batch columns as Arrow tables (no conversion): the batches of an
        in-memory corpus, and the rows `texts_at` reads."""
        return self.dataset.with_format("arrow", columns=self._batch_columns)

    def describe(self) -> dict[str, object]:
        """The `train` / `bench` block of a report."""
        return {"source": self.source, "items": len(self), "fingerprint": self.fingerprint,
                "skipped_lines": self.skipped_lines}  # fmt: skip
