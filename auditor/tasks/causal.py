"""What generation and multiple choice share: a causal LM, fine-tuned on prompt + answer.

A control learns to write the answer after the evaluation prompt ("Question: {text}\\nAnswer:"),
with the loss on the answer tokens only, so it is trained on the very format it is scored on.
The answer is the item's `answer`, or, for multiple-choice training data, the text of its gold
choice. Validation is the negative mean loss on the answer tokens: decoding or scoring every
choice at every validation would cost more than the training step it guides.
"""

from collections.abc import Sequence
from typing import Any, ClassVar

import torch

from auditor.corpus import Corpus
from auditor.errors import InputError
from auditor.evaluate import prompt_of
from auditor.models import is_causal_lm
from auditor.tasks.base import Example, Task, pad_inputs
from auditor.tasks.spec import TaskSpec, choice_index

IGNORE = -100
"""The label torch's cross-entropy skips: prompt tokens and padding."""


class CausalTask(Task):
    head: ClassVar[str] = "causal"

    def why_unfit(self, config: Any, spec: TaskSpec) -> str | None:
        return self.why_unfit_base(config)

    def why_unfit_base(self, config: Any) -> str | None:
        if is_causal_lm(config):
            return None
        kind = getattr(config, "model_type", "this architecture")
        return (
            f"an encoder-only model ({kind}) cannot generate or score continuations for a "
            f"{self.name} benchmark; use a causal language model (a checkpoint whose "
            "architectures end in ForCausalLM or LMHeadModel)"
        )

    def check_train(self, train: Corpus, spec: TaskSpec) -> None:
        columns = train.dataset.column_names
        if "answer" not in columns and "choices" not in columns:
            raise InputError(f"{train.source}: a {self.name} control needs answers to train on.")

    def examples(
        self, train: Corpus, spec: TaskSpec, tokenizer: Any, max_length: int
    ) -> list[Example]:
        self.check_train(train, spec)
        examples = []
        for text, target in zip(train.texts, _targets(train), strict=True):
            prompt = tokenizer(prompt_of(text), add_special_tokens=False)["input_ids"]
            answer = tokenizer(f" {target}", add_special_tokens=False)["input_ids"]
            answer = [*answer, tokenizer.eos_token_id or tokenizer.pad_token_id]
            ids = (prompt + answer)[:max_length]
            labels = ([IGNORE] * len(prompt) + answer)[:max_length]
            examples.append({"input_ids": ids, "labels": labels})
        return examples

    def collate(self, rows: Sequence[Example], pad_id: int) -> dict[str, torch.Tensor]:
        batch = pad_inputs(rows, pad_id)
        labels = torch.full_like(batch["input_ids"], IGNORE)
        for i, row in enumerate(rows):
            labels[i, : len(row["labels"])] = torch.tensor(row["labels"])
        batch["labels"] = labels
        return batch


def _targets(train: Corpus) -> list[str]:
    """The text to learn for each item: its answer, else its gold choice."""
    if "answer" in train.dataset.column_names:
        return train.column("answer")
    pairs = zip(train.column("choices"), train.column("label"), strict=True)
    return [options[choice_index(label, len(options))] for options, label in pairs]
