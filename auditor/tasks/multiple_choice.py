"""Multiple choice: each choice scored by its log-likelihood after the item's text.

A causal LM scores " {choice}" after the text; `accuracy` takes the best sum, `accuracy_norm`
the best sum per byte of the choice (lm-evaluation-harness's acc and acc_norm), so long and short
choices can be compared.
"""

import random
import string
from typing import Any, ClassVar

import numpy as np
import torch

from auditor.corpus import Corpus
from auditor.evaluate import EvalResult, continuation_logprobs, mean_correct
from auditor.tasks.causal import CausalTask
from auditor.tasks.spec import TaskSpec, choice_index

LETTERS = string.ascii_uppercase


class MultipleChoice(CausalTask):
    name: ClassVar[str] = "multiple_choice"

    def membership_text(self, text: str, choices: list[str] | None) -> str:
        """The question and its choices, one per line, lettered as benchmarks print them."""
        lines = [f"{LETTERS[i] if i < len(LETTERS) else i + 1}. {choice}"
                 for i, choice in enumerate(choices or [])]  # fmt: skip
        return "\n".join([text, *lines])

    def twin(self, text: str, choices: list[str] | None, seed: int) -> str:
        """The same question with its choices in another order (seeded; a single choice has
        none)."""
        order = list(range(len(choices or [])))
        rng = random.Random(f"{seed}|{text}")
        for _ in range(10):
            rng.shuffle(order)
            if order != sorted(order):
                break
        return self.membership_text(text, [choices[i] for i in order] if choices else None)

    @torch.inference_mode()
    def evaluate(
        self,
        model: Any,
        tokenizer: Any,
        corpus: Corpus,
        spec: TaskSpec,
        *,
        batch_size: int = 16,
        **_: Any,
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
            self.name,
            mean_correct(items),
            items,
            extra={"accuracy_norm": float(np.mean(normalised)) if normalised else 0.0},
        )


TASK = MultipleChoice()
