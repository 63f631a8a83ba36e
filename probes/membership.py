"""What the model probes share: one forward pass per model over the benchmark, and their base.

Model probes (`kind = "model"`) read contamination evidence from the audited model itself, not
from training data: each scores every benchmark item, higher = more likely seen in training, and
none reads the training corpus, so they run with or without one. They all read the per-token
statistics of one batched, padding-aware forward pass (`token_stats`, memoised per model and
texts), so five of them cost one pass:

- `logp[t]`: log p(x_t | x_<t) of every token after the first;
- `mu[t]`, `sigma[t]`: mean and standard deviation of log p(v | x_<t) over the vocabulary under
  the model's own next-token distribution (the normalisers of Min-K%++, Zhang et al. 2024).

On CUDA the pass runs under bf16 autocast; the statistics are computed in float32. Which texts
are scored is the task's (`Task.membership_text`: the item's text; multiple choice adds its
choices), so a probe never branches on the task.

When the audit has a reference model (`FitContext.reference`), a probe whose score reads only the
audited model also scores the items under the reference, into `ProbeResult.null`: the
reference's score distribution is the null its flags are calibrated on (`auditor.membership`).
"""

import hashlib
import math
from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np

from auditor.corpus import Corpus
from probes.base import FitContext, ItemScore, LoadedModel, Probe, ProbeResult, Scan, TrainBatch


@dataclass(frozen=True)
class TokenStats:
    """One text's per-token statistics under one model (arrays of equal length)."""

    logp: np.ndarray
    mu: np.ndarray
    sigma: np.ndarray
    text: str

    @property
    def nbytes(self) -> int:
        return max(len(self.text.encode("utf-8")), 1)


def _row_stats(logits: Any, targets: Any, text: str) -> TokenStats:
    """One text's statistics from its logits (positions x vocabulary) and next tokens."""
    logprobs = logits.float().log_softmax(dim=-1)
    token_logp = logprobs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    probs = logprobs.exp()
    mu = (probs * logprobs).sum(-1)
    sigma = ((probs * logprobs.square()).sum(-1) - mu.square()).clamp_min(0).sqrt()
    return TokenStats(*(v.cpu().numpy().astype(np.float64) for v in (token_logp, mu, sigma)),
                      text=text)  # fmt: skip


def context_length(network: Any) -> int | None:
    """The most positions the model can read (None: the config does not say)."""
    config = network.config
    values = [getattr(config, key, None) for key in ("max_position_embeddings", "n_positions")]
    return next((int(v) for v in values if isinstance(v, int) and v > 0), None)


def _forward(model: LoadedModel, texts: list[str], max_length: int, batch_size: int) -> list:
    import torch

    network, tokenizer = model.network, model.tokenizer
    max_length = min(max_length, context_length(network) or max_length)
    device = next(network.parameters()).device
    network.eval()
    stats = []
    stage = f"token probabilities under {Path(model.name).name or model.name}"
    for start in range(0, len(texts), batch_size):
        if model.on_progress is not None:
            model.on_progress(stage, start, len(texts))
        chunk = texts[start : start + batch_size]
        encoded = tokenizer(chunk, truncation=True, max_length=max_length, padding=True,
                            padding_side="right", return_tensors="pt")  # fmt: skip
        ids = encoded["input_ids"].to(device)
        mask = encoded["attention_mask"].to(device)
        with torch.inference_mode(), torch.autocast(device.type, torch.bfloat16,
                                                    enabled=device.type == "cuda"):  # fmt: skip
            logits = network(input_ids=ids, attention_mask=mask).logits[:, :-1]
        keep = mask[:, 1:].bool()  # right padding: a row's tokens are its first ones
        for row, text in enumerate(chunk):  # one row at a time: (length x vocab) floats at most
            chosen = keep[row]
            stats.append(_row_stats(logits[row][chosen], ids[row, 1:][chosen], text))
    if model.on_progress is not None:
        model.on_progress(stage, len(texts), len(texts))
    return stats


def token_stats(
    model: LoadedModel, texts: list[str], max_length: int = 256, batch_size: int = 8
) -> list[TokenStats]:
    """Each text's `TokenStats` under `model`, computed once per (texts, max_length) and kept on
    the model, so every probe of an audit shares the pass. Texts are cut at `max_length`
    tokens, or at the model's own context length when that is shorter."""
    digest = hashlib.sha256("\x00".join(texts).encode("utf-8", "surrogatepass")).hexdigest()
    key = ("token_stats", digest, max_length)
    if key not in model.memo:
        model.memo[key] = _forward(model, texts, max_length, batch_size)
    return model.memo[key]


OTHER_TOKENS = (
    "the reference model splits the items into other tokens, so its per-token scores are no "
    "null for this model's (only the per-byte reference probe compares the two)"
)


def same_tokens(model: LoadedModel, reference: LoadedModel, texts: list[str]) -> bool:
    """Do both models read these texts as the same tokens? (Checked on the first 20.) Per-token
    statistics of two models compare only then."""
    return all(model.tokenizer(text)["input_ids"] == reference.tokenizer(text)["input_ids"]
               for text in texts[:20])  # fmt: skip


def lowest_mean(values: np.ndarray, k: float) -> float:
    """Mean of the lowest `k` share of `values` (at least one value)."""
    count = max(1, math.ceil(k * len(values)))
    return float(np.sort(values)[:count].mean())


class _DoneScan(Scan):
    """Model probes read no training data: their result is ready once fitted."""

    def __init__(self, result: ProbeResult) -> None:
        self._result = result

    def absorb(self, batch: TrainBatch, prepared: Any) -> None:
        pass

    def finish(self) -> ProbeResult:
        return self._result


class ModelProbe(Probe):
    """A membership score per item from one forward pass per model (`item_score`).

    Scores of items too short to have a scored token are NaN (left out of every statistic)."""

    kind: ClassVar[str] = "model"
    requires: ClassVar[frozenset[str]] = frozenset({"model"})
    score_means: ClassVar[str] = ""
    """What the score is, in words (the reports' method line)."""
    bounds: ClassVar[dict] = {"max_length": (2, None)}
    subtracts_reference: ClassVar[bool] = False
    """The score is the audited model's minus the reference's (`reference`); otherwise the
    reference's own scores are the null (`ProbeResult.null`)."""

    def __init__(self, *, max_length: int = 256) -> None:
        self.max_length = max_length

    @abstractmethod
    def item_score(self, stats: TokenStats) -> float:
        """The score of one item from its statistics (called only with at least one token)."""

    def scores_under(self, model: LoadedModel, texts: list[str]) -> np.ndarray:
        stats = token_stats(model, texts, self.max_length)
        return np.array([self.item_score(s) if len(s.logp) else np.nan for s in stats])

    def fit(self, bench: Corpus, context: FitContext | None = None) -> Self:
        context = context or FitContext()
        texts = membership_texts(bench, context)
        self.scores_ = self.scores_under(context.model, texts)
        self.null_: np.ndarray | None = None
        self.no_null_: str | None = None
        if context.reference is not None:
            if self.subtracts_reference:
                self.scores_ = self.scores_ - self.scores_under(context.reference, texts)
            elif same_tokens(context.model, context.reference, texts):
                self.null_ = self.scores_under(context.reference, texts)
            else:
                self.no_null_ = OTHER_TOKENS
        self.test_: dict[str, Any] | None = None
        return self

    def start_scan(self) -> Scan:
        self._check_fitted()
        items = [ItemScore(float(score), False) for score in self.scores_]
        info = {"score": self.score_means, "unscored": int(np.isnan(self.scores_).sum())}
        if self.no_null_:
            info["no_null"] = self.no_null_
        return _DoneScan(self.result(items, info=info, test=self.test_, null=self.null_))


def membership_texts(bench: Corpus, context: FitContext) -> list[str]:
    """The texts the model probes score: each item as its task presents it to a model."""
    from auditor.tasks import TASKS

    if context.task is None:
        return bench.texts
    task = TASKS.get(context.task)
    choices = bench.column("choices") or [None] * len(bench)
    return [task.membership_text(text, options)
            for text, options in zip(bench.texts, choices, strict=True)]  # fmt: skip
