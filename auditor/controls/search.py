"""Choosing a control's learning rate by successive halving (Jamieson & Talwalkar 2016).

Every rate of the grid trains to the grace period (`GRACE` validations, as ASHA's grace period:
Li et al. 2020); the better half, by where its smoothed validation curve stands now (a run that
stopped early by its best), trains on to twice the validations, and so on until one rate is
left, which trains to its own end (early stopping or the budget's cap). The losers' runs stop
where they were dropped, so the search costs about one full run plus the grace and rung
steps of the others instead of one full run per rate; the search table records how far each
rate trained and where it was dropped.

Why a grace period and the curve's current value: a fast rate leads early whether or not it
ends better. On MiniLM at the quick budget (`benchmarks/results/controls-quick-cpu.json`, every
rate trained to its end), the faster rate (5e-4) led at the first validation in three of the four
controls (TREC and SST-2, scratch and pretrained) and ended worse in all three; `make demo`,
ranking after one validation, kept 5e-4 for its pretrained TREC control, which scored 0.900.
After 8 validations (4 epochs) the current smoothed value ranks all four as their finished runs
do, while the best-so-far value separates SST-2's scratch rates by 0.001 (an early lucky peak
of the 5e-4 run).
"""

import math
from collections.abc import Callable
from typing import Any

Train = Callable[..., dict[str, Any]]
"""`train(lr, until=None) -> summary` (a `ControlSetup.train` with its seed bound)."""
GRACE = 8
"""Validations every rate trains before the first halving (4 epochs at 2 validations each)."""


def rank(summaries: dict[float, dict[str, Any]], *, standing: bool = False) -> list[float]:
    """Rates best first by best (smoothed) validation, or with `standing` by where the smoothed
    curve stands at its last validation (a finished run by its best: it is done); on a tie, the
    one whose training loss is lower at its last validation, then the smaller rate. Ties are
    common early, where a scratch model at every rate may still predict the majority class
    (SST-2 at the old quick budget: both rates at 0.50), and the training loss then tells which
    rate is learning."""

    def score(summary: dict[str, Any]) -> float:
        curve = summary["curve"]
        if standing and curve and not summary.get("finished", True):
            return curve[-1].get("smoothed", curve[-1]["val"])
        return summary["best_val"]

    def key(lr: float) -> tuple[float, float, float]:
        curve = summaries[lr]["curve"]
        loss = curve[-1]["train_loss"] if curve else float("inf")
        return -score(summaries[lr]), loss if math.isfinite(loss) else float("inf"), lr

    return sorted(summaries, key=key)


def successive_halving(
    rates: tuple[float, ...], train: Train, grace: int = GRACE
) -> tuple[float, list[dict]]:
    """The chosen rate and one search row per rate: its summary and its `rung`, the halving it
    was dropped at (0: after the grace period; the chosen rate's is the number of halvings)."""
    alive = sorted(rates)
    summaries = {lr: train(lr, until=1) for lr in alive}  # the first validation: its period
    rung = {lr: 0 for lr in alive}
    level = 0
    while len(alive) > 1:
        until = {lr: summaries[lr]["period"] * grace * 2**level for lr in alive}
        for lr in alive:
            if not summaries[lr].get("finished", True):
                summaries[lr] = train(lr, until=until[lr])
        keep = rank({lr: as_of(summaries[lr], until[lr]) for lr in alive}, standing=True)
        keep = keep[: math.ceil(len(alive) / 2)]
        for lr in alive:
            if lr not in keep:
                rung[lr] = level
        alive, level = sorted(keep), level + 1
    (chosen,) = alive
    summaries[chosen] = train(chosen)
    rung[chosen] = level
    search = [
        {"learning_rate": lr, **summaries[lr], "rung": rung[lr], "chosen": lr == chosen}
        for lr in sorted(rates)
    ]
    return chosen, search


def as_of(summary: dict[str, Any], until: int) -> dict[str, Any]:
    """`summary` as the search sees a run paused at its first validation at or past step
    `until`: a run already trained further (by an earlier search, or to its end beside the
    others as `benchmarks/controls.py --jobs` trains them) is ranked on the same curve as one
    the search paused there, so the choice depends on the curves alone."""
    curve = summary["curve"]
    cut = next((k for k, point in enumerate(curve) if point["step"] >= until), len(curve) - 1)
    if cut == len(curve) - 1:
        return summary
    return {**summary, "curve": curve[: cut + 1], "finished": False}


def choose_rate(runs: list[dict[str, Any]], grace: int = GRACE) -> float:
    """The learning rate successive halving picks from whole runs (rows with `learning_rate`
    and a run's summary), each trained to its end: every rung ranks the curves cut where the
    search would have paused them. Training resumes exactly, so the run at the chosen rate is
    the one the search would have trained."""
    by_rate = {row["learning_rate"]: row for row in runs}
    return successive_halving(tuple(by_rate), lambda lr, until=None: by_rate[lr], grace)[0]
