"""Control models: the base architecture fine-tuned on the training data from two starts.

The scratch control is the base's architecture built from its config with seeded random
initialisation; the pretrained control starts from the base's weights. Everything else is shared:
tokenizer, training items, validation split, data order, search space, budget and seeds. Only the
initialisation and the learning rate each selects differ, because a randomly initialised
transformer trains best at a far higher learning rate than fine-tuning uses (measured with
MiniLM-L6 on TREC: scratch at 5e-5 reaches 0.64, at 3e-4 0.87), and a shared rate would
under-train the scratch control and overstate transfer. So each control tries every learning rate
of the budget's grid on a validation split carved from the training data, keeps the best epoch of
the best rate (early stopping), and the report records the whole search.


What each task trains (a classification head, or causal-LM fine-tuning with the loss on the answer
tokens) is the task's (auditor/tasks/). The package, by job:
- plan: INITS, the BUDGETS and the ControlPlan (what determines a control, its cache key's input);
- data: training examples via the task, and the seeded train/validation split;
- training: the loop of one (learning rate, seed) run, with checkpoints, resume, early stopping;
- selfpretrain: the third start, `selfpretrained`: the scratch model first pretrained on the
  training items' text with the base's objective (masked or causal LM);
- run: preparing a control, the learning-rate search, scoring, and the cache.
"""

import importlib
from typing import Any

from auditor.controls.plan import BUDGETS, DEFAULT_SPLIT_SEED, INITS, Budget, ControlPlan

_LAZY = {
    "ControlResult": "run", "ControlSetup": "run", "choose_rate": "search",
    "control_folder": "run", "prepare_control": "run", "run_control": "run",
    "Progress": "training",
}  # fmt: skip
"""Names from the modules that import torch, loaded on first use (PEP 562): the plan and the
budgets are read by `--help` and the CLI's option checks, which should not wait for torch."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"auditor.controls.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'auditor.controls' has no attribute {name!r}")


__all__ = [
    "BUDGETS",
    "DEFAULT_SPLIT_SEED",
    "INITS",
    "Budget",
    "ControlPlan",
    "ControlResult",
    "ControlSetup",
    "Progress",
    "choose_rate",
    "control_folder",
    "prepare_control",
    "run_control",
]
