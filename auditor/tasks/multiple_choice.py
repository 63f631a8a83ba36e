"""Multiple choice: each choice scored by its log-likelihood after the item's text.

A causal LM scores " {choice}" after the text; `accuracy` takes the best sum, `accuracy_norm`
the best sum per byte of the choice (lm-evaluation-harness's acc and acc_norm), so long and short
choices can be compared.
"""

from typing import Any, ClassVar

import numpy as np
import torch

from auditor.corpus import Corpus
from auditor.evaluate import EvalResult, continuation_logprobs, mean_correct
from auditor.tasks.causal import CausalTask
from auditor.tasks.spec import TaskSpec, choice_index


class MultipleChoice(CausalTask):
    name: ClassVar[str] = "multiple_choice"

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
