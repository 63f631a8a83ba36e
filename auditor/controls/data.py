"""A control's training data: every training item as its task's example, and the split.

The split is the same for both controls of a plan (it depends only on the number of items and the
plan), so the scratch and pretrained controls train and validate on the very same items.
"""

import math
from typing import Any

import numpy as np

from auditor.controls.plan import ControlPlan
from auditor.corpus import Corpus
from auditor.errors import InputError
from auditor.tasks import TASKS, TaskSpec


def training_data(
    train: Corpus, spec: TaskSpec, tokenizer: Any, plan: ControlPlan
) -> tuple[list[dict[str, Any]], np.ndarray, np.ndarray]:
    """The tokenized examples, in corpus order, and the rows that train and that validate."""
    examples = TASKS.get(spec.task).examples(train, spec, tokenizer, plan.max_length)
    train_rows, val_rows = split(len(examples), plan)
    if len(train_rows) < 1 or len(val_rows) < 1:
        raise InputError(f"{train.source}: too few training items for a control ({len(examples)}).")
    return examples, train_rows, val_rows


def split(count: int, plan: ControlPlan) -> tuple[np.ndarray, np.ndarray]:
    """Seeded subsample (the budget's cap), then a validation split carved off: `val_fraction`
    of the items, at least `min_val_items` (400: a standard error of at most 2.5 points on an
    accuracy, so that checkpoints 5 points apart are told apart), never more than a quarter of
    them, and at least one."""
    order = np.random.default_rng(plan.split_seed).permutation(count)
    if plan.max_train_items is not None:
        order = order[: plan.max_train_items]
    wanted = max(math.ceil(len(order) * plan.val_fraction), plan.min_val_items)
    n_val = max(1, min(wanted, len(order) // 4)) if len(order) > 1 else 0
    return np.sort(order[n_val:]), np.sort(order[:n_val])
