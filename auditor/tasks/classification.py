"""Classification: a sequence-classification head over the benchmark's label names.

The candidate must be a classifier whose `id2label` names include every benchmark label name
(case-insensitive); a control gets a fresh head with exactly the benchmark's labels, in order.
Controls are validated on accuracy, the metric the benchmark reports.
"""

from collections.abc import Sequence
from typing import Any, ClassVar

import torch

from auditor.corpus import Corpus
from auditor.errors import InputError
from auditor.evaluate import EvalResult, batches, mean_correct
from auditor.tasks.base import Example, Task, pad_inputs
from auditor.tasks.spec import TaskSpec


class Classification(Task):
    name: ClassVar[str] = "classification"
    head: ClassVar[str] = "classification"
    val_metric: ClassVar[str] = "accuracy"

    def head_overrides(self, spec: TaskSpec) -> dict[str, Any]:
        names = spec.label_names or []
        return {
            "num_labels": len(names),
            "id2label": dict(enumerate(names)),
            "label2id": {name: i for i, name in enumerate(names)},
        }

    def check_train(self, train: Corpus, spec: TaskSpec) -> None:
        if "label" not in train.dataset.column_names:
            raise InputError(f"{train.source}: a classification control needs labelled data.")
        unknown = sorted(set(train.column("label")) - set(spec.label_names or []))
        if unknown:
            raise InputError(
                f"{train.source}: training labels {unknown} are not benchmark labels "
                f"{spec.label_names}."
            )

    def examples(
        self, train: Corpus, spec: TaskSpec, tokenizer: Any, max_length: int
    ) -> list[Example]:
        self.check_train(train, spec)
        index = {name: i for i, name in enumerate(spec.label_names or [])}
        encoded = tokenizer(train.texts, truncation=True, max_length=max_length)
        labels = [index[label] for label in train.column("label")]
        return [
            {"input_ids": ids, "label": label}
            for ids, label in zip(encoded["input_ids"], labels, strict=True)
        ]

    def collate(self, rows: Sequence[Example], pad_id: int) -> dict[str, torch.Tensor]:
        batch = pad_inputs(rows, pad_id)
        batch["labels"] = torch.tensor([row["label"] for row in rows])
        return batch

    def batch_score(self, output: Any, batch: dict[str, torch.Tensor]) -> float:
        """Accuracy of the batch: the metric the benchmark reports, so the best epoch is the
        one that scores best, not the one with the lowest loss."""
        return float((output.logits.argmax(-1) == batch["labels"]).float().mean())

    def why_unfit(self, config: Any, spec: TaskSpec) -> str | None:
        names = [str(name) for name in (getattr(config, "id2label", None) or {}).values()]
        if {name.lower() for name in spec.label_names or []} <= {n.lower() for n in names}:
            return None
        return (
            f"its labels {names} do not include the benchmark's labels {spec.label_names}; "
            "use a checkpoint trained for this label set (its config.json id2label)"
        )

    @torch.inference_mode()
    def evaluate(
        self,
        model: Any,
        tokenizer: Any,
        corpus: Corpus,
        spec: TaskSpec,
        *,
        batch_size: int = 64,
        max_length: int = 128,
        **_: Any,
    ) -> EvalResult:
        names = [str(model.config.id2label[i]) for i in range(model.config.num_labels)]
        expected = spec.label_names or []
        if not self.fits(model, spec):
            raise InputError(
                f"the model's labels {names} do not match the benchmark's labels {expected}. "
                "Use a checkpoint trained for this label set (its config.json id2label)."
            )
        by_lower = {name.lower(): name for name in [*names, *expected]}
        model.eval()
        device = next(model.parameters()).device
        predictions = []
        for _, texts in batches(corpus.texts, batch_size):
            encoded = tokenizer(
                texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt"
            ).to(device)
            predictions.extend(model(**encoded).logits.argmax(dim=-1).tolist())
        gold = corpus.column("label")
        items = []
        for index, (predicted, truth) in enumerate(zip(predictions, gold, strict=True)):
            name = by_lower[names[predicted].lower()]
            items.append(
                {"index": index, "prediction": name, "gold": truth, "correct": name == truth}
            )
        return EvalResult(self.name, mean_correct(items), items)


TASK = Classification()
