"""The `Task` interface: everything the pipeline needs to know about one task type.

A task type decides which model head answers it, how a training item becomes a training example
for a control, how a control's validation split is scored, how a trained or candidate model is
evaluated on the benchmark, and whether a loaded model can answer it at all. Keeping those
together means a new task type is one module and one `TASKS.register` line, and the controls,
`audit eval` and `audit run` need no change.

Task objects hold no state: one instance per type, shared (the `TASK` of each module).
"""

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch

from auditor.corpus import Corpus
from auditor.evaluate import EvalResult, batches, pad_right
from auditor.models import TaskHead
from auditor.tasks.spec import TaskSpec

Example = dict[str, Any]
"""One tokenized training item: `input_ids` and the task's target (`label` or `labels`)."""


class Task(ABC):
    name: ClassVar[str]
    """The task type, as cards and `TaskSpec.task` spell it."""
    head: ClassVar[TaskHead]
    """The model head that answers it: "classification" or "causal"."""
    val_metric: ClassVar[str] = "-loss"
    """What `validate` returns, higher is better; recorded with every control's search."""

    def head_overrides(self, spec: TaskSpec) -> dict[str, Any]:
        """Config overrides for building or loading a model with this task's head."""
        return {}

    @abstractmethod
    def check_train(self, train: Corpus, spec: TaskSpec) -> None:
        """Raise InputError when `train` cannot teach this benchmark (no targets, unknown labels),
        before any training time is spent."""

    @abstractmethod
    def examples(
        self, train: Corpus, spec: TaskSpec, tokenizer: Any, max_length: int
    ) -> list[Example]:
        """Every training item as a tokenized example, in corpus order (after `check_train`)."""

    @abstractmethod
    def collate(self, rows: Sequence[Example], pad_id: int) -> dict[str, torch.Tensor]:
        """A padded batch of examples, with the `labels` the model's loss needs."""

    @abstractmethod
    def evaluate(
        self, model: Any, tokenizer: Any, corpus: Corpus, spec: TaskSpec, **options: Any
    ) -> EvalResult:
        """Score `model` on every benchmark item; unknown `options` are ignored, so callers can
        pass the options of every task (batch size, generation length, truncation)."""

    def fits(self, model: Any, spec: TaskSpec) -> bool:
        """Can a model loaded with this task's head answer this benchmark as it is?"""
        return self.why_unfit(model.config, spec) is None

    def why_unfit(self, config: Any, spec: TaskSpec) -> str | None:
        """Why a model of this config cannot answer this benchmark as it is, or None."""
        return None

    def membership_text(self, text: str, choices: list[str] | None) -> str:
        """The text the model probes score for an item: the item as a model reads it."""
        return text

    def twin(self, text: str, choices: list[str] | None, seed: int) -> str:
        """A rewritten twin of `membership_text` for the rewrite probe: same task, another
        surface (numbers re-drawn, names swapped), deterministic per seed."""
        from auditor.rewrites import twin

        return twin(self.membership_text(text, choices), seed)

    def why_unfit_base(self, config: Any) -> str | None:
        """Why a control of this task cannot be trained from this base architecture, or None
        (checked before any training)."""
        return None

    @torch.inference_mode()
    def validate(
        self, model: Any, examples: Sequence[Example], *, batch_size: int, pad_id: int
    ) -> float:
        """`val_metric` over `examples`: the mean of `batch_score`, weighted by batch size."""
        model.eval()
        device = next(model.parameters()).device
        scores, weights = [], []
        for _, rows in batches(examples, batch_size):
            batch = {k: v.to(device) for k, v in self.collate(rows, pad_id).items()}
            scores.append(self.batch_score(model(**batch), batch))
            weights.append(len(batch["labels"]))
        return float(np.average(scores, weights=weights))

    def batch_score(self, output: Any, batch: dict[str, torch.Tensor]) -> float:
        """One validation batch's score: the negative mean loss (higher is better)."""
        return -float(output.loss)


def pad_inputs(rows: Sequence[Example], pad_id: int) -> dict[str, torch.Tensor]:
    """`input_ids` right-padded to the longest example, and the attention mask."""
    ids, mask = pad_right([row["input_ids"] for row in rows], pad_id)
    return {"input_ids": ids, "attention_mask": mask}
