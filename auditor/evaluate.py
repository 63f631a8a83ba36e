"""Scoring a model on a benchmark, keeping every item's correctness (attribution pairs items).

One evaluator per task type, chosen from a registry:
- classification: a sequence-classification model; its `id2label` names (case-insensitive) must
  include every benchmark label name, else exit 2 naming both sets;
- generation: a causal LM, greedy decoding of at most `max_new_tokens` from the prompt
  "Question: {text}\\nAnswer:", the card's answer extractor on both sides, exact (numeric) match;
- multiple choice: a causal LM scores each choice by the log-likelihood of " {choice}" after the
  text; `accuracy` takes the best sum, `accuracy_norm` the best sum per byte of the choice
  (lm-evaluation-harness's acc and acc_norm).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from auditor.corpus import Corpus
from auditor.errors import InputError
from auditor.tasks import TaskSpec, choice_index, extract_answer, same_answer

PROMPT = "Question: {text}\nAnswer:"


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


def _batches(rows: list, size: int):
    for start in range(0, len(rows), size):
        yield start, rows[start : start + size]


@torch.inference_mode()
def evaluate_classification(
    model,
    tokenizer,
    corpus: Corpus,
    spec: TaskSpec,
    *,
    batch_size: int = 64,
    max_length: int = 128,
    **_,
) -> EvalResult:
    names = [str(model.config.id2label[i]) for i in range(model.config.num_labels)]
    expected = spec.label_names or []
    if not {name.lower() for name in expected} <= {name.lower() for name in names}:
        raise InputError(
            f"the model's labels {names} do not match the benchmark's labels {expected}. "
            "Use a checkpoint trained for this label set (its config.json id2label)."
        )
    by_lower = {name.lower(): name for name in names} | {name.lower(): name for name in expected}
    model.eval()
    device = next(model.parameters()).device
    predictions = []
    for _, texts in _batches(corpus.texts, batch_size):
        encoded = tokenizer(
            texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt"
        ).to(device)
        predictions.extend(model(**encoded).logits.argmax(dim=-1).tolist())
    gold = corpus.column("label")
    items = []
    for index, (predicted, truth) in enumerate(zip(predictions, gold, strict=True)):
        name = by_lower[names[predicted].lower()]
        items.append({"index": index, "prediction": name, "gold": truth, "correct": name == truth})
    return EvalResult("classification", _mean(items), items)


@torch.inference_mode()
def evaluate_generation(
    model,
    tokenizer,
    corpus: Corpus,
    spec: TaskSpec,
    *,
    batch_size: int = 16,
    max_new_tokens: int = 256,
    max_length: int = 512,
    **_,
) -> EvalResult:
    model.eval()
    device = next(model.parameters()).device
    tokenizer.padding_side = "left"
    tokenizer.truncation_side = "left"  # keep the end of a long prompt: "Answer:"
    positions = getattr(model.config, "max_position_embeddings", None) or getattr(
        model.config, "n_positions", None
    )
    if positions:  # prompt and answer must fit the model's context window
        max_new_tokens = min(max_new_tokens, positions // 2)
        max_length = min(max_length, positions - max_new_tokens)
    outputs = []
    for _, texts in _batches(corpus.texts, batch_size):
        encoded = tokenizer(
            [prompt_of(t) for t in texts],
            padding=True,
            truncation=True,
            max_length=max_length,
            return_tensors="pt",
        ).to(device)
        generated = model.generate(
            **encoded,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
        )
        new_tokens = generated[:, encoded["input_ids"].shape[1] :]
        outputs.extend(tokenizer.batch_decode(new_tokens, skip_special_tokens=True))
    items = []
    for index, (output, answer) in enumerate(zip(outputs, corpus.column("answer"), strict=True)):
        predicted, gold = extract_answer(output, spec), extract_answer(answer or "", spec)
        items.append(
            {
                "index": index,
                "prediction": predicted,
                "gold": gold,
                "correct": same_answer(predicted, gold, spec),
                "output": output,
            }
        )
    return EvalResult("generation", _mean(items), items)


@torch.inference_mode()
def continuation_logprobs(model, tokenizer, pairs: list[tuple[str, str]], batch_size: int = 16):
    """Sum of log p(continuation | context) for each (context, continuation) pair."""
    device = next(model.parameters()).device
    sums = []
    for _, chunk in _batches(pairs, batch_size):
        contexts = [tokenizer(c, add_special_tokens=False)["input_ids"] for c, _ in chunk]
        endings = [tokenizer(e, add_special_tokens=False)["input_ids"] for _, e in chunk]
        rows = [c + e for c, e in zip(contexts, endings, strict=True)]
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.tensor(row)
            mask[i, : len(row)] = 1
        logprobs = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
        logprobs = logprobs.float().log_softmax(dim=-1).cpu()
        for i, (context, ending) in enumerate(zip(contexts, endings, strict=True)):
            positions = torch.arange(len(context) - 1, len(context) + len(ending) - 1)
            sums.append(float(logprobs[i, positions, torch.tensor(ending)].sum()))
    return sums


@torch.inference_mode()
def evaluate_multiple_choice(
    model, tokenizer, corpus: Corpus, spec: TaskSpec, *, batch_size: int = 16, **_
) -> EvalResult:
    model.eval()
    choices = corpus.column("choices")
    pairs = [(text, f" {choice}") for text, options in zip(corpus.texts, choices, strict=True)
             for choice in options]  # fmt: skip
    scores = iter(continuation_logprobs(model, tokenizer, pairs, batch_size))
    items, normalised = [], []
    for index, (options, label) in enumerate(zip(choices, corpus.column("label"), strict=True)):
        row = np.array([next(scores) for _ in options])
        per_byte = row / np.array([max(len(f" {o}".encode()), 1) for o in options])
        gold = choice_index(label, len(options))
        items.append(
            {
                "index": index,
                "prediction": int(row.argmax()),
                "gold": gold,
                "correct": bool(row.argmax() == gold),
            }
        )
        normalised.append(bool(per_byte.argmax() == gold))
    return EvalResult(
        "multiple_choice",
        _mean(items),
        items,
        extra={"accuracy_norm": float(np.mean(normalised)) if normalised else 0.0},
    )


def _mean(items: list[dict]) -> float:
    return float(np.mean([item["correct"] for item in items])) if items else 0.0


EVALUATORS: dict[str, tuple[str, Callable[..., EvalResult]]] = {
    "classification": ("classification", evaluate_classification),
    "generation": ("causal", evaluate_generation),
    "multiple_choice": ("causal", evaluate_multiple_choice),
}
"""task type -> (model head it needs, evaluator)."""
