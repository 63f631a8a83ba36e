"""`likelihood`: a toy probe of kind `model`, to show the seam model probes plug into.

It reads the audited model from the fit context (it requires "model", nothing from the training
data, so it runs without any), and scores each benchmark item by the model's per-token geometric
mean probability of it. It flags nothing: a membership probe needs a calibrated threshold.
"""

from typing import ClassVar, Self

import torch

from auditor.corpus import Corpus
from probes.base import FitContext, ItemScore, Probe, ProbeResult, Scan, TrainBatch


class LikelihoodProbe(Probe):
    name: ClassVar[str] = "likelihood"
    kind: ClassVar[str] = "model"
    requires: ClassVar[frozenset[str]] = frozenset({"model"})

    def __init__(self, *, max_length: int = 64) -> None:
        self.max_length = max_length

    @torch.inference_mode()
    def fit(self, bench: Corpus, context: FitContext | None = None) -> Self:
        network, tokenizer = context.model.network, context.model.tokenizer
        scores = []
        for text in bench.texts:
            ids = tokenizer(text, return_tensors="pt", truncation=True,
                            max_length=self.max_length)["input_ids"]  # fmt: skip
            loss = network(input_ids=ids, labels=ids).loss if ids.shape[1] > 1 else None
            scores.append(float(torch.exp(-loss)) if loss is not None else 0.0)
        self.scores_ = scores
        return self

    def start_scan(self) -> "LikelihoodScan":
        self._check_fitted()
        return LikelihoodScan(self)


class LikelihoodScan(Scan):
    def __init__(self, probe: LikelihoodProbe) -> None:
        self.probe = probe

    def absorb(self, batch: TrainBatch, prepared: None) -> None:
        pass  # nothing to read from training data

    def finish(self) -> ProbeResult:
        items = [ItemScore(score, False) for score in self.probe.scores_]
        return self.probe.result(items, info={"score": "geometric mean token probability"})
