"""`audit index build`: precompute what the probes need for a corpus, ahead of the audits.

The costly part of an audit that depends on the training corpus alone is its embeddings (the
embedding probe embeds every training document's windows; the shift probes a sample of whole
documents; the alignment probe each document's sentences). The windows' width follows the
benchmark (`probes.windows`), so the index embeds them at one width (`--window`, default 64
words); an audit whose benchmark asks for another width encodes its windows itself. Windows and
sentences are skeletons, with names replaced or not (`--names`), as the probes decide from the
benchmark's item lengths. The calibration's null sample (2,000 training openings whose lengths
follow the benchmark) is encoded by each audit. The index writes them to
the cache under exactly the keys the streamed pass reads (encoder, corpus fingerprint, batch row
range), so a later `audit overlap / shift / run` with the same cache folder and batch size finds
every batch embedded and encodes only the benchmark. The n-gram, MinHash and exact probes index
the benchmark and hash the training text as it streams by, so they have nothing to precompute.
The whole corpus's embeddings also become a nearest-neighbour search (`auditor.knn`: exact, or
an IVF index above 200k documents), which the typicality probe then measures against instead of
a sample.
A manifest (`index.json`) beside the embeddings says what was indexed, with which settings.
The encoding runs on an `Engine` (`auditor.scan`): in this process, or on encoder actors of a Ray
cluster (`--engine ray`, `auditor.scan_ray`); either way this process checks the cache and
writes what comes back under the same keys.
"""

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from pydantic import BaseModel

from auditor import __version__
from auditor.cache import atomic_write_text
from auditor.corpus import Corpus
from auditor.embeddings import Encoder
from auditor.knn import build_knn
from auditor.report import SCHEMA_VERSION
from auditor.scan import Engine, LocalEngine
from probes.alignment import AlignmentProbe, sentence_skeletons, sentence_variant
from probes.windows import Windowing

MAX_SENTENCES = AlignmentProbe().max_sentences
"""The alignment probe's default, which the index embeds at."""

Progress = Callable[[str, int, int], None]


class IndexReport(BaseModel):
    """What `audit index build` did (its JSON output and the manifest it writes)."""

    schema_version: int = SCHEMA_VERSION
    corpus: dict[str, object]
    encoder: dict[str, object]
    batch_size: int
    windows: str | None = None
    """The embedding probe's windows also embedded (`probes.windows.Windowing.key`)."""
    sentences: str | None = None
    """The alignment probe's training sentences also embedded (their cache variant)."""
    knn: dict[str, object] | None = None
    """How the typicality probe searches the whole corpus (`auditor.knn.KnnIndex`)."""
    batches: int
    batches_reused: int
    directory: str
    seconds: float
    created: str
    audit_version: str


def build_index(
    corpus: Corpus,
    encoder: Encoder,
    *,
    batch_size: int,
    windowing: Windowing | None = None,
    sentence_names: bool | None = None,
    on_progress: Progress | None = None,
    engine: Engine | None = None,
) -> IndexReport:
    """Embed every batch of `corpus` not already cached (and its windows, when `windowing` is
    given, and its sentences' skeletons, names replaced or not as `sentence_names` says, under
    the keys the embedding and alignment probes read) on `engine` (default: this process);
    write the manifest."""
    progress = on_progress or (lambda stage, done, total: None)
    started = time.perf_counter()
    fingerprint, total = corpus.fingerprint, len(corpus)
    variant = None if sentence_names is None else sentence_variant(MAX_SENTENCES, sentence_names)
    counts = {"batches": 0, "reused": 0}

    def missing() -> Iterator[tuple[tuple[int, str, int], list[str]]]:
        """((first row, cache variant, rows), texts) of every text list not cached yet."""
        for batch in corpus.batches(batch_size):
            counts["batches"] += 1
            wanted = [("", batch.texts)]
            if windowing is not None and not windowing.whole(batch.texts):
                windows, _ = windowing.split(batch.texts)
                wanted.append((windowing.key, [windowing.encoded_text(w) for w in windows]))
            if variant is not None:
                flat, _ = sentence_skeletons(batch.texts, MAX_SENTENCES, sentence_names)
                wanted.append((variant, flat))
            for key, texts in wanted:
                cached = encoder.cached(fingerprint, batch.start, len(batch.texts), key)
                if cached is not None and len(cached) == len(texts):
                    counts["reused"] += not key
                    continue
                yield (batch.start, key, len(batch.texts)), texts

    progress("embedding corpus", 0, total)
    for (start, key, rows), embeddings in (engine or LocalEngine()).encodings(encoder, missing()):
        encoder.store(embeddings, fingerprint, start, key, rows)
        progress("embedding corpus", start + rows, total)
    progress("embedding corpus", total, total)
    batches, reused = counts["batches"], counts["reused"]
    progress("building kNN index", 0, 1)
    knn = build_knn(encoder.corpus_dir(fingerprint), total, encoder.dimension, batch_size)
    progress("building kNN index", 1, 1)
    report = IndexReport(
        corpus=corpus.describe(),
        encoder={
            "model": encoder.model,
            "key": encoder.key,
            "dtype": encoder.dtype_used,
            "max_length": encoder.max_length,
            "dimension": encoder.dimension,
        },
        batch_size=batch_size,
        windows=windowing.key if windowing else None,
        sentences=variant,
        knn=knn.to_dict(),
        batches=batches,
        batches_reused=reused,
        directory=str(encoder.corpus_dir(fingerprint)),
        seconds=round(time.perf_counter() - started, 2),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        audit_version=__version__,
    )
    manifest = json.dumps(report.model_dump(), indent=2)
    atomic_write_text(encoder.corpus_dir(fingerprint) / "index.json", manifest)
    return report
