"""Choosing a control's learning rate by successive halving (Jamieson & Talwalkar 2016).

Every rate of the grid trains one rung (its first validation period); the better half by best
validation so far (ties to the lower training loss) trains on to twice the steps, and so on until
one rate is left, which trains to its own end (early stopping or the budget's cap). A run that
stopped early keeps its best validation in the ranking. The losers' runs stop where they were
dropped, so the search costs about one full run plus a few rungs instead of one full run per
rate; the search table records how far each rate trained and where it was dropped.
"""

import math
from collections.abc import Callable
from typing import Any

Train = Callable[..., dict[str, Any]]
"""`train(lr, until=None) -> summary` (a `ControlSetup.train` with its seed bound)."""


def rank(summaries: dict[float, dict[str, Any]]) -> list[float]:
    """Rates best first by best (smoothed) validation; on a tie, the one whose training loss is
    lower at its last validation, then the smaller rate. Ties are common at the first rung,
    where a scratch model at every rate may still predict the majority class (SST-2 at the
    old quick budget: both rates at 0.50), and the training loss then tells which rate is
    learning."""

    def key(lr: float) -> tuple[float, float, float]:
        curve = summaries[lr]["curve"]
        loss = curve[-1]["train_loss"] if curve else float("inf")
        return -summaries[lr]["best_val"], loss if math.isfinite(loss) else float("inf"), lr

    return sorted(summaries, key=key)


def successive_halving(rates: tuple[float, ...], train: Train) -> tuple[float, list[dict]]:
    """The chosen rate and one search row per rate: its summary and its `rung`, the halving it
    was dropped at (0: after one validation period; the chosen rate's is the number of
    halvings)."""
    alive = sorted(rates)
    summaries = {lr: train(lr, until=1) for lr in alive}  # one validation period each
    rung = {lr: 0 for lr in alive}
    level = 0
    while len(alive) > 1:
        keep = rank({lr: summaries[lr] for lr in alive})[: math.ceil(len(alive) / 2)]
        for lr in alive:
            if lr not in keep:
                rung[lr] = level
        alive, level = sorted(keep), level + 1
        if len(alive) == 1:
            break
        for lr in alive:
            if not summaries[lr].get("finished", True):
                period = summaries[lr]["period"]
                summaries[lr] = train(lr, until=period * 2**level)
    (chosen,) = alive
    summaries[chosen] = train(chosen)
    rung[chosen] = level
    search = [
        {"learning_rate": lr, **summaries[lr], "rung": rung[lr], "chosen": lr == chosen}
        for lr in sorted(rates)
    ]
    return chosen, search
