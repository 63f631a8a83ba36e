"""Corpora on disk: a loaded corpus's rows in an Arrow stream file, read back batch by batch.

A training corpus of millions of documents must not live in memory: the pass reads it once, in
order, and the steps after it fetch a few rows by index. So every corpus is written, as it is
loaded, into one Arrow IPC stream file (the format `datasets` memory-maps) of record batches of
`BATCH_ROWS` rows, and the byte offset of each batch is kept. The pass reads batches with plain
file reads (`Spool.read`), never through a memory map: a mapped page that has been read stays in
the process's resident set until the kernel needs it back, so a mapped scan's peak RSS grows with
the corpus; read into a fresh buffer and dropped, a batch costs its own size once. Rows fetched
by index (the null sample, a flagged item's matched text) are read the same way, a batch at a
time (`Spool.take`); whole columns for the controls go through the memory-mapped
`datasets.Dataset` over the same file.

The files live in `<cache>/spool/` (`auditor.cache.default_cache_dir`: disk, where `/tmp` may be
memory) and are removed when their corpus is garbage-collected or the process exits; a file left
by a killed process is removed by the next load (its name holds the writer's process id).
"""

import contextlib
import itertools
import os
import re
import socket
import uuid
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from auditor.cache import default_cache_dir

BATCH_ROWS = 8192
"""Rows per record batch. Opening the memory-mapped dataset reads every batch's header, and the
kernel maps 64 KB around each page it faults in, so the batch count sets how much of the file
becomes resident at load: with 1,024-row batches 55 MB of a 511 MB corpus (1M documents), with
8,192 about 1 MB. The pass's smaller batches are slices of one read (`Spool.read` keeps the last
batch)."""


@dataclass(frozen=True)
class Spool:
    """An Arrow stream file of record batches of `batch_rows` rows (the last may be shorter)."""

    path: Path
    schema: pa.Schema
    offsets: tuple[int, ...]
    """Byte offset of each record batch's message in the file (the first: of the schema's)."""
    rows: int
    batch_rows: int
    _last: dict = field(default_factory=dict, compare=False, repr=False)
    """The batch read last, by index: consecutive slices of one batch read the file once."""

    def read(self, index: int, names: list[str]) -> pa.RecordBatch:
        """Record batch `index`, columns `names`, read from the file into fresh memory."""
        cached = self._last.get("batch")
        if cached is None or cached[0] != (index, tuple(names), os.getpid()):
            with pa.OSFile(str(self.path)) as handle:
                handle.seek(self.offsets[index])
                message = pa.ipc.read_message(handle)
                if message.type == "schema":  # the writer puts it before the first batch
                    message = pa.ipc.read_message(handle)
                batch = pa.ipc.read_record_batch(message, self.schema).select(names)
            cached = ((index, tuple(names), os.getpid()), batch)
            self._last["batch"] = cached
        return cached[1]

    def slice(self, start: int, size: int, names: list[str]) -> pa.Table:
        """Rows `start .. start + size` (cut at the end), reading only the batches they span."""
        stop = min(start + size, self.rows)
        if start >= stop:
            return self.schema.empty_table().select(names)
        parts = []
        size = self.batch_rows
        for index in range(start // size, (stop - 1) // size + 1):
            batch = self.read(index, names)
            first = max(start - index * size, 0)
            parts.append(batch.slice(first, max(stop - index * size - first, 0)))
        return pa.Table.from_batches(parts, schema=parts[0].schema)

    def take(self, rows: list[int], names: list[str]) -> pa.Table:
        """Rows `rows` (ascending, distinct), columns `names`, reading each batch they fall in
        once with plain file reads. Gathered through the memory map instead, rows spread over
        the corpus fault in the pages around each (the kernel's fault-around and read-ahead),
        and they stay resident: the embedding probe's 2,000-document null sample left 473 MB
        of a 511 MB corpus (1M documents) in the process's resident set."""
        size, parts = self.batch_rows, []
        for index, group in itertools.groupby(rows, key=lambda row: row // size):
            offsets = pa.array([row - index * size for row in group], type=pa.int64())
            parts.append(self.read(index, names).take(offsets))
        if not parts:
            return self.schema.empty_table().select(names)
        return pa.Table.from_batches(parts, schema=parts[0].schema)


def spool_dir() -> Path:
    return default_cache_dir() / "spool"


def write_spool(tables: Iterable[pa.Table], schema: pa.Schema) -> Spool:
    """Write `tables` (any sizes, at least one row in all) into a new spool file as
    `BATCH_ROWS`-row record batches. The file is removed when the spool is garbage-collected or
    at exit, by this process only (a forked worker that inherits it never removes its parent's
    file), or at once if writing fails."""
    folder = spool_dir()
    folder.mkdir(parents=True, exist_ok=True)
    _remove_orphans(folder)
    path = folder / f"{_HOST}-{os.getpid()}-{uuid.uuid4().hex}.arrow"
    try:
        offsets, rows = _write(path, tables, schema)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    spool = Spool(path, schema, tuple(offsets), rows, BATCH_ROWS)
    weakref.finalize(spool, _remove, path, os.getpid())
    return spool


def _write(path: Path, tables: Iterable[pa.Table], schema: pa.Schema) -> tuple[list[int], int]:
    offsets: list[int] = []
    rows, pending = 0, []
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, schema) as writer:

        def flush(table: pa.Table) -> None:
            offsets.append(sink.tell())
            writer.write_batch(table.combine_chunks().to_batches()[0])

        for table in tables:
            pending.append(table)
            buffered = pa.concat_tables(pending)
            while len(buffered) >= BATCH_ROWS:
                flush(buffered.slice(0, BATCH_ROWS))
                buffered = buffered.slice(BATCH_ROWS)
            pending = [buffered]
            rows += len(table)
        if rows % BATCH_ROWS:
            flush(pa.concat_tables(pending))
    return offsets, rows


def _remove(path: Path, writer_pid: int) -> None:
    if os.getpid() == writer_pid:
        with contextlib.suppress(OSError):  # Windows refuses while the dataset maps it
            path.unlink(missing_ok=True)


_HOST = re.sub(r"[^A-Za-z0-9_.]", "_", socket.gethostname())


def _remove_orphans(folder: Path) -> None:
    """Remove this host's spool files whose writing process no longer runs (killed before its
    cleanup); a cache folder shared between machines keeps the others' files."""
    for path in folder.glob(f"{_HOST}-*.arrow"):
        pid = path.name.split("-")[1]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                path.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True
