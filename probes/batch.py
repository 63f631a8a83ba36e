"""A batch of the training corpus as a probe's scan receives it, with its shared features.

The pass computes each feature (word hashes, skeleton words, embeddings) once per batch and
every scan of the pass reads the same one; a scan may read only what its probe declared in
`requires` (`FEATURES`), else `ProbeContractError`, so the pass never computes what no probe
reads.
"""

from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from auditor.corpus import CorpusBatch
from probes.tokens import TokenBatch

if TYPE_CHECKING:
    from auditor.embeddings import Encoder
    from probes.windows import Windowing

FEATURES = frozenset({"text", "tokens", "skeleton", "embeddings", "labels", "model", "reference"})
"""What a probe may declare in `requires`: training-batch features (text, tokens, skeleton
tokens, embeddings, labels) the streamed pass computes for it, and "model" / "reference" (the
audited model and a reference model, given at `fit`)."""


class ProbeContractError(RuntimeError):
    """A probe read a feature it did not declare in `requires` (a bug in the probe)."""


class TrainBatch:
    """One batch of the training corpus, with features computed once and shared by all scans."""

    def __init__(
        self,
        batch: CorpusBatch,
        corpus_fingerprint: str,
        corpus_size: int,
        features: frozenset[str] = FEATURES,
    ) -> None:
        self.start = batch.start
        self.rows = batch
        """The batch's rows; `texts`, `ids` and `labels` convert them to Python on first use."""
        self.corpus_fingerprint = corpus_fingerprint
        self.corpus_size = corpus_size
        self.features = features
        """What the probes of this pass declared; reading anything else is a contract error."""
        self._embeddings: dict[str, np.ndarray] = {}
        self._skeletons: dict[bool, TokenBatch] = {}

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def texts(self) -> list[str]:
        return self.rows.texts

    @property
    def ids(self) -> list[str]:
        return self.rows.ids

    def _require(self, feature: str) -> None:
        if feature not in self.features:
            raise ProbeContractError(
                f"a scan read batch {feature!r}, which no probe of this pass requires: "
                f"declare it in the probe's `requires` (declared: {sorted(self.features)})"
            )

    @property
    def labels(self) -> list[str | None] | None:
        self._require("labels")
        return self.rows.labels

    @cached_property
    def tokens(self) -> TokenBatch:
        self._require("tokens")
        return TokenBatch.from_texts(self.rows.text_column)

    def skeleton_tokens(self, names: bool) -> TokenBatch:
        """Words of the texts' skeletons (`auditor.skeleton`: numbers, and names when `names`,
        replaced), computed once per setting."""
        from auditor.skeleton import skeleton

        self._require("skeleton")
        if names not in self._skeletons:
            self._skeletons[names] = TokenBatch.from_texts([skeleton(t, names) for t in self.texts])
        return self._skeletons[names]

    def computed_embeddings(self, encoder: "Encoder") -> np.ndarray | None:
        """This batch's embeddings by `encoder` if they are at hand without encoding: a probe
        has already asked for them, or they are in the disk cache (`audit index build`)."""
        self._require("embeddings")
        if encoder.key not in self._embeddings:
            cached = encoder.cached(self.corpus_fingerprint, self.start, len(self))
            if cached is None:
                return None
            self._embeddings[encoder.key] = cached
        return self._embeddings[encoder.key]

    def embeddings(self, encoder: "Encoder") -> np.ndarray:
        """This batch's embeddings by `encoder` (disk-cached; computed once per batch)."""
        self._require("embeddings")
        if encoder.key not in self._embeddings:
            self._embeddings[encoder.key] = encoder.encode_cached(
                self.texts, self.corpus_fingerprint, self.start
            )
        return self._embeddings[encoder.key]

    def derived_embeddings(self, encoder: "Encoder", texts: list[str], variant: str) -> np.ndarray:
        """Embeddings of texts derived from this batch (its sentences, say), cached under the
        batch's rows and `variant` like the documents' own."""
        self._require("embeddings")
        key = f"{encoder.key}|{variant}"
        if key not in self._embeddings:
            self._embeddings[key] = encoder.encode_cached(
                texts, self.corpus_fingerprint, self.start, variant, rows=len(self)
            )
        return self._embeddings[key]

    def window_embeddings(
        self, encoder: "Encoder", windowing: "Windowing"
    ) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Embeddings of the batch's windows (`probes.windows`), each window's row in the batch,
        and the window texts; the documents' own embeddings when every window is a document."""
        windows, owner = windowing.split(self.texts)
        if windowing.whole(self.texts):
            return self.embeddings(encoder), owner, windows
        texts = [windowing.encoded_text(window) for window in windows]
        return self.derived_embeddings(encoder, texts, windowing.key), owner, windows
