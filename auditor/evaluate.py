"""What every task's evaluator shares: the result type, the prompt, batching, log-likelihoods.

The evaluators themselves live with their task (auditor/tasks/): classification reads the
argmax of a sequence-classification head, generation decodes greedily after `PROMPT`, multiple
choice compares `continuation_logprobs` of the choices. Every one keeps each item's correctness,
because attribution pairs the candidate's and the controls' items.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import torch

PROMPT = "Question: {text}\nAnswer:"
"""The prompt of generation evaluation and of causal-LM control training (the same text, so a
control is scored on the format it was trained on)."""

T = TypeVar("T")


@dataclass
class EvalResult:
    task: str
    accuracy: float
    items: list[dict[str, Any]]
    """Per benchmark item, in order: index, prediction, gold, correct."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def correct(self) -> np.ndarray:
        return np.array([item["correct"] for item in self.items], dtype=bool)


def prompt_of(text: str) -> str:
    return PROMPT.format(text=text)


def batches(rows: Sequence[T], size: int) -> Iterator[tuple[int, Sequence[T]]]:
    """(start, chunk) pairs covering `rows` in order, `size` rows at a time."""
    for start in range(0, len(rows), size):
        yield start, rows[start : start + size]


def mean_correct(items: list[dict[str, Any]]) -> float:
    """Accuracy over per-item results; 0 for an empty benchmark rather than NaN."""
    return float(np.mean([item["correct"] for item in items])) if items else 0.0


def pad_right(rows: Sequence[Sequence[int]], value: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Token rows right-padded with `value` to the longest, and the attention mask (1 = token)."""
    width = max(len(row) for row in rows)
    ids = torch.full((len(rows), width), value, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row)
        mask[i, : len(row)] = 1
    return ids, mask


@torch.inference_mode()
def continuation_logprobs(
    model: Any, tokenizer: Any, pairs: list[tuple[str, str]], batch_size: int = 16
) -> list[float]:
    """Sum of log p(continuation | context) for each (context, continuation) pair."""
    device = next(model.parameters()).device
    sums = []
    for _, chunk in batches(pairs, batch_size):
        contexts = [tokenizer(c, add_special_tokens=False)["input_ids"] for c, _ in chunk]
        endings = [tokenizer(e, add_special_tokens=False)["input_ids"] for _, e in chunk]
        rows = [c + e for c, e in zip(contexts, endings, strict=True)]
        ids, mask = pad_right(rows, tokenizer.pad_token_id)
        logprobs = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
        logprobs = logprobs.float().log_softmax(dim=-1).cpu()
        for i, (context, ending) in enumerate(zip(contexts, endings, strict=True)):
            positions = torch.arange(len(context) - 1, len(context) + len(ending) - 1)
            sums.append(float(logprobs[i, positions, torch.tensor(ending)].sum()))
    return sums
