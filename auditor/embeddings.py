"""Sentence embeddings for the embedding probe (and later the shift probes), with a disk cache.

An embedding is the attention-masked mean of a transformer encoder's last hidden states,
L2-normalised (the sentence-transformers recipe for all-MiniLM-L6-v2), so inner product is
cosine similarity. Speed on CPU comes from sorting texts by length (little padding), inference
mode, and bfloat16 autocast where the CPU has native bf16 (AVX-512 BF16 / AMX), where it is
several times faster than float32; `benchmarks/embeddings.py` measures both against
sentence-transformers and checks the cosine to float32 output.

Embeddings are cached per (encoder, corpus fingerprint, row range) as .npy files written
atomically with a checksum (`auditor.cache.save_array`), so a second audit of the same corpus
reads them instead of recomputing, and a wrong file is recomputed rather than trusted.
"""

import hashlib
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np

from auditor.cache import default_cache_dir, load_array, save_array
from auditor.models import quiet_transformers, resolve_model

Precision = Literal["auto", "fp32", "bf16"]


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def native_bf16(device: str) -> bool:
    """True where bfloat16 matrix multiplies run natively (fast, not emulated)."""
    import torch

    if device.startswith("cuda"):
        return torch.cuda.is_bf16_supported()
    return bool(
        torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    )


PAD_MULTIPLE = 8
"""Token lengths are padded up to a multiple of this, and every batch to `batch_size` rows, so
the encoder sees a bounded set of input shapes. Native kernel caches are keyed by shape: with a
shape per (batch, length) the embedding probe's memory grew with the corpus (RssAnon 660 ->
882 MB over 100k windowed documents; Python objects +0.8 MB); with bounded shapes it stays
flat (`benchmarks/scale.py --probes embedding`)."""


class Encoder:
    def __init__(
        self,
        model: str = "minilm",
        *,
        max_length: int = 256,
        batch_size: int = 64,
        precision: Precision = "auto",
        device: str = "cpu",
        cache_dir: Path | None = None,
    ) -> None:
        self.model = model
        self.max_length = max_length
        self.batch_size = batch_size
        self.precision = precision
        self.device = resolve_device(device)
        self.cache_dir = cache_dir or default_cache_dir()

    @cached_property
    def _path(self) -> str:
        return resolve_model(self.model)

    @cached_property
    def _loaded(self):
        import torch
        from transformers import AutoModel, AutoTokenizer

        quiet_transformers()
        tokenizer = AutoTokenizer.from_pretrained(self._path)
        network = AutoModel.from_pretrained(self._path, dtype=torch.float32)
        return tokenizer, network.to(self.device).eval()

    @property
    def dtype_used(self) -> str:
        if self.precision == "auto":
            return "bf16" if native_bf16(self.device) else "fp32"
        return self.precision

    @cached_property
    def key(self) -> str:
        """Identity of the encoder for cache keys: weights file, length limit, precision."""
        path = Path(self._path)
        weights = next(iter(sorted(path.glob("*.safetensors"))), path / "config.json")
        identity = f"{path.name}|{weights.stat().st_size if weights.exists() else self._path}"
        identity += f"|{self.max_length}|{self.dtype_used}"
        return f"{path.name}-{hashlib.sha256(identity.encode()).hexdigest()[:12]}"

    @property
    def dimension(self) -> int:
        return int(self._loaded[1].config.hidden_size)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """float32 array (len(texts), dimension), rows L2-normalised."""
        import torch

        tokenizer, network = self._loaded
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        order = np.argsort([-len(text) for text in texts], kind="stable")
        autocast = torch.autocast(
            device_type="cuda" if self.device.startswith("cuda") else "cpu",
            dtype=torch.bfloat16,
            enabled=self.dtype_used == "bf16",
        )
        with torch.inference_mode(), autocast:
            for begin in range(0, len(texts), self.batch_size):
                rows = order[begin : begin + self.batch_size]
                filler = [""] * (self.batch_size - len(rows))  # a full batch: one shape fewer
                encoded = tokenizer(
                    [texts[i] for i in rows] + filler,
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    pad_to_multiple_of=PAD_MULTIPLE,
                    return_tensors="pt",
                ).to(self.device)
                hidden = network(**encoded).last_hidden_state.float()
                mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, dim=-1)
                out[rows] = pooled[: len(rows)].cpu().numpy()
        return out

    def corpus_dir(self, fingerprint: str, variant: str = "") -> Path:
        """Where this encoder's embeddings of the corpus `fingerprint` are cached; `variant`
        names a derived text (windows, skeletons: `probes.windows.Windowing.key`)."""
        folder = "-".join(filter(None, (fingerprint, variant)))
        return self.cache_dir / "embeddings" / self.key / folder

    def cached(
        self, fingerprint: str, start: int, count: int, variant: str = ""
    ) -> np.ndarray | None:
        """The cached embeddings of rows start..start+count (of `count` rows when no variant
        is named; a variant's row count is its own), or None when not cached."""
        array = load_array(self.corpus_dir(fingerprint, variant) / f"{start}-{count}.npy")
        if array is None or array.shape[1:] != (self.dimension,):
            return None
        if not variant and len(array) != count:
            return None
        return array

    def encode_cached(
        self, texts: Sequence[str], fingerprint: str, start: int, variant: str = "", rows: int = 0
    ) -> np.ndarray:
        """`encode`, read from / written to the cache under (fingerprint, variant, start, rows):
        `rows` is the number of corpus rows the texts come from (default: one text per row)."""
        rows = rows or len(texts)
        cached = self.cached(fingerprint, start, rows, variant)
        if cached is not None and len(cached) == len(texts):
            return cached
        return self.store(self.encode(texts), fingerprint, start, variant, rows)

    def store(
        self, embeddings: np.ndarray, fingerprint: str, start: int, variant: str, rows: int
    ) -> np.ndarray:
        """Cache embeddings of this encoder computed elsewhere (an encoder on a Ray worker:
        `auditor.scan_ray`) where `encode_cached` reads them."""
        save_array(self.corpus_dir(fingerprint, variant) / f"{start}-{rows}.npy", embeddings)
        return embeddings
