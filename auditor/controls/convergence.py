"""Did a control finish learning? Diagnostics read from its training curve, and the rule.

The attribution is only as true as the scratch control: one stopped while still improving
understates distribution fitting and overstates transfer, with intervals that look tight. So every
run's curve is read back (validation score and training loss at each validation) and judged by a
stated rule; the attribution turns the shares a non-converged control feeds into bounds.
"""

from typing import Any

import numpy as np

RULE = (
    "a run has converged when early stopping ended it (no new best of its smoothed validation "
    "curve, the trailing mean of its last validations, for `patience` validations) or when that "
    "best came before the last quarter of its steps; a run that used its whole step budget (or "
    "was stopped by --max-minutes) with its best in the last quarter was still improving"
)
FALLING = 0.02
"""Training loss still falls when it dropped by more than this share over the last validations."""
TAIL = 3
"""Validations the end-of-run slopes are read over."""


def _slope(values: list[float], epochs: list[float]) -> float | None:
    if len(values) < 2 or epochs[-1] == epochs[0]:
        return None
    return float(np.polyfit(epochs, values, 1)[0])


def diagnose(summary: dict[str, Any], patience: int) -> dict[str, Any]:
    """The convergence verdict of one run from its summary (`controls.training.fit`)."""
    curve = summary["curve"]
    steps, best_step = summary["steps"], summary["best_step"]
    best_index = next((i for i, point in enumerate(curve) if point["step"] == best_step), 0)
    stopped_early = len(curve) - best_index - 1 >= patience
    late_best = best_step > 0.75 * steps
    tail = curve[-TAIL:]
    epochs = [point["epoch"] for point in tail]
    losses = [point["train_loss"] for point in tail]
    loss_drop = (losses[0] - losses[-1]) / abs(losses[0]) if len(losses) > 1 and losses[0] else 0.0
    return {
        "converged": bool(stopped_early or not late_best),
        "stopped_by": ("early stopping" if stopped_early
                       else "time cap" if summary.get("out_of_time") else "step budget"),
        "best_step": best_step,
        "steps": steps,
        "best_in_last_quarter": bool(late_best),
        "val_slope_end": _slope([point["val"] for point in tail], epochs),
        "train_loss_end": losses[-1] if losses else None,
        "train_loss_falling": bool(loss_drop > FALLING),
        "kept": summary.get("kept"),
        "rule": RULE,
    }
