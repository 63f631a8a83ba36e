"""`embedding`: paraphrases and near-duplicates by sentence-embedding cosine similarity, over
windows of the training documents.

Each text is embedded with a sentence encoder (default `minilm`: all-MiniLM-L6-v2, mean-pooled,
L2-normalised; see `auditor.embeddings`). Training documents are embedded as windows sized from
the benchmark items' lengths (`probes.windows`; a short document is one window), so an item
buried before its worked solution in a long document is compared with the span that holds it.
With `skeleton` (the default) benchmark items and windows are embedded as their skeletons
(`auditor.skeleton`: numbers, and names where incidental, replaced by placeholders), so
re-drawn numbers and renamed people do not move the score. The benchmark embeddings are the
queries; each training batch's windows are searched exactly (`probes.neighbours`: one matrix
multiply and a running top-k, faster than faiss-cpu here, measured), memory proportional to the
benchmark. The score is the best window's cosine similarity, clipped to [0, 1]; the evidence is
that window.

The verdict is calibrated (`calibrates`): the null sample's queries (training-document
openings sized like benchmark items, `probes.null`) are scored the same way against every
document but their own, and `auditor.calibration` combines this score with the other
calibrated probes' (`containment`, `alignment`) into one test at the target false-positive rate
(`--fpr`). `threshold` (0.88) applies when
calibration is off (`--fpr 0`); it was measured on raw text (`skeleton=false`, README).
Skeletons of distinct problems built on one template (age puzzles, weights) reach it more often
(2 of 50 GSM8K test questions against 1,500 training questions, none on raw text), so with
fixed thresholds set `skeleton=false` or a higher one. Names are replaced where they are
incidental (`names`, "auto": by the benchmark's item lengths, `auditor.skeleton`).
"""

import hashlib
from typing import Any, ClassVar, Self

import numpy as np

from auditor.corpus import Corpus
from auditor.embeddings import Encoder
from auditor.normalize import normalize
from auditor.skeleton import check_names, names_are_incidental, skeleton_key
from probes.base import FitContext, ItemScore, Match, Probe, ProbeResult, Scan, TrainBatch
from probes.neighbours import StreamingTopK
from probes.windows import Windowing, auto_width


class EmbeddingProbe(Probe):
    name: ClassVar[str] = "embedding"
    kind: ClassVar[str] = "overlap"
    requires: ClassVar[frozenset[str]] = frozenset({"embeddings"})
    provides: ClassVar[frozenset[str]] = frozenset({"similarity"})
    calibrates: ClassVar[bool] = True
    bounds: ClassVar[dict[str, tuple[float | None, float | None]]] = {
        "threshold": (-1, 1), "k": (1, None), "window": (0, None), "max_windows": (1, None),
    }  # fmt: skip

    def __init__(
        self,
        *,
        threshold: float = 0.88,
        k: int = 5,
        model: str = "minilm",
        window: int = 0,
        max_windows: int = 32,
        skeleton: bool = True,
        names: str = "auto",
        precision: str = "auto",
        device: str = "cpu",
    ) -> None:
        self.threshold = threshold
        self.k = k
        self.model = model
        self.window = window
        self.max_windows = max_windows
        self.skeleton = skeleton
        self.names = names
        self.precision = precision
        self.device = device

    def fit(self, bench: Corpus, context: FitContext | None = None) -> Self:
        shared = context.encoder if context is not None else None
        self.encoder_ = shared or Encoder(self.model, precision=self.precision, device=self.device)
        lengths = np.array([len(text.split()) for text in bench.texts])
        names = names_are_incidental(self.names, lengths.tolist())
        self.windowing_ = Windowing(
            self.window or auto_width(lengths), max(2, self.max_windows), bool(self.skeleton), names
        )
        variant = skeleton_key(names) if self.skeleton else ""
        texts = [self.windowing_.encoded_text(text) for text in bench.texts]
        self.bench_embeddings_ = self.encoder_.encode_cached(texts, bench.fingerprint, 0, variant)
        self.null_ = context.null if context is not None else None
        self.null_embeddings_ = None
        if self.null_ is not None:
            texts = [self.windowing_.encoded_text(text) for text in self.null_.texts]
            digest = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]
            self.null_embeddings_ = self.encoder_.encode_cached(texts, f"null-{digest}", 0)
        return self

    def check_params(self) -> None:
        super().check_params()
        check_names(self.names)

    def describe(self, info: dict[str, Any]) -> str:
        width = info.get("window", self.window or "auto")
        windowing = getattr(self, "windowing_", None)
        text = "text"
        if self.skeleton:
            names = windowing.names if windowing else self.names != "no"
            text = "skeleton (numbers" + (" and names)" if names else ")")
        return f"model={self.model}, window={width} words, k={self.k}, on the {text}"

    def start_scan(self) -> "EmbeddingScan":
        self._check_fitted()
        return EmbeddingScan(self)


class EmbeddingScan(Scan):
    def __init__(self, probe: EmbeddingProbe) -> None:
        self.probe = probe
        self.neighbours = StreamingTopK(probe.bench_embeddings_, probe.k)
        self.null = None
        if probe.null_embeddings_ is not None:
            self.null = StreamingTopK(probe.null_embeddings_, 1)
        self.windows_seen = 0
        self.documents_seen = 0
        self.gaps = 0
        self.evidence: dict[int, tuple[int, str, str]] = {}
        """Window number -> (corpus row, id, window text), kept for current best windows."""

    def absorb(self, batch: TrainBatch, prepared: None) -> None:
        # Encoding runs here, on one thread: torch already uses every core for it.
        embeddings, owner, windows = batch.window_embeddings(
            self.probe.encoder_, self.probe.windowing_
        )
        offset = self.windows_seen
        before = set(self.neighbours.index[:, 0].tolist())
        self.neighbours.add(embeddings, offset)
        for window in set(self.neighbours.index[:, 0].tolist()) - before:
            row = int(owner[window - offset])
            self.evidence[window] = (batch.start + row, batch.ids[row], windows[window - offset])
        if self.null is not None:
            queries, rows = self.probe.null_.own_rows(batch.start, len(batch))
            pairs = [(q, w) for q, r in zip(queries, rows, strict=True)
                     for w in np.flatnonzero(owner == r)]  # fmt: skip
            exclude = tuple(np.array(column, dtype=np.int64) for column in zip(*pairs, strict=True))
            self.null.add(embeddings, offset, exclude if pairs else None)
        self.windows_seen += len(windows)
        self.documents_seen += len(batch)
        self.gaps += sum(self.probe.windowing_.leaves_gaps(len(t.split())) for t in batch.texts)

    def finish(self) -> ProbeResult:
        probe = self.probe
        similarity, windows = self.neighbours.result()
        items = []
        for top, window in zip(similarity[:, 0].tolist(), windows[:, 0].tolist(), strict=True):
            if window < 0:
                items.append(ItemScore(0.0, False, None))
                continue
            score = float(np.clip(top, 0.0, 1.0))
            row, row_id, text = self.evidence[window]
            match = Match(row, row_id, normalize(text))
            items.append(ItemScore(score, score >= probe.threshold, match))
        null = None
        if self.null is not None:
            null = np.clip(np.nan_to_num(self.null.result()[0][:, 0], neginf=0.0), 0.0, 1.0)
        return probe.result(
            items,
            info={
                "score": "cosine similarity to the nearest training window",
                "encoder": probe.encoder_.key,
                "precision": probe.encoder_.dtype_used,
                "window": probe.windowing_.width,
                "max_windows": probe.windowing_.max_windows,
                "text": probe.describe({}).rpartition("on the ")[2],
                "windows_per_document": round(self.windows_seen / max(1, self.documents_seen), 2),
                "documents_with_gaps": self.gaps,
            },
            null=null,
        )
