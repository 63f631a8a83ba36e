"""Attribution: how much of the candidate's accuracy is chance, distribution fitting, transfer.

With chance accuracy a0 (card), scratch control a_s, pretrained control a_p and candidate a_x,
all on the same benchmark items (DESIGN.md):

    fitting share  = (a_s - a0) / (a_x - a0)
    transfer share = (a_p - a_s) / (a_x - a0)
    residual share = (a_x - a_p) / (a_x - a0)

The three add up to 1. Confidence intervals come from the paired bootstrap over benchmark items
and seeds: each replicate resamples items once and recomputes every model's accuracy on the same
resample; a control run with several seeds also draws its seeds with replacement in each
replicate, so its intervals carry seed variance as well as item variance. Where
a_x is not above a0 the shares are undefined and reported as such (None, with the reason), never
as NaN; replicates whose denominator is not positive are left out of the interval and counted.
Beside the shares: each model's accuracy on items the overlap probes flagged vs clean items, and by
quintile of typicality (the signature of distribution fitting is a scratch control that collapses
on atypical items while the pretrained control holds).
"""

from dataclasses import dataclass

import numpy as np

from auditor.report import Attribution, Estimate

MODELS = ("candidate", "scratch", "pretrained")
MIN_INTERVAL_ITEMS = 20
"""Fewer items than this get no bootstrap interval: resampling 3 items that are all correct
gives [100%, 100%], a 95% interval that claims a certainty three items cannot give."""
SHARES = ("fitting", "transfer", "residual")


@dataclass(frozen=True)
class Scores:
    """Per-item correctness in [0, 1] for each model: a vector, or an items x seeds matrix for
    a control trained with several seeds."""

    candidate: np.ndarray
    scratch: np.ndarray
    pretrained: np.ndarray

    def of(self, name: str) -> np.ndarray:
        """Each item's correctness, averaged over seeds."""
        values = np.asarray(getattr(self, name), dtype=float)
        return values.mean(axis=1) if values.ndim == 2 else values

    def replicates(self, name: str, rows: np.ndarray, resamples: np.ndarray, rng) -> np.ndarray:
        """The accuracy in each bootstrap replicate on `rows`: items resampled (`resamples`,
        replicates x items, shared by every model: paired), and, for several seeds, the seeds
        drawn with replacement too."""
        values = np.asarray(getattr(self, name), dtype=float)
        if values.ndim == 1:
            return values[rows][resamples].mean(axis=1)
        per_seed = np.stack([column[rows][resamples].mean(axis=1) for column in values.T], 1)
        seeds = values.shape[1]
        weights = rng.multinomial(seeds, np.full(seeds, 1 / seeds), size=len(resamples)) / seeds
        return (per_seed * weights).sum(axis=1)


def _interval(samples: np.ndarray, confidence: float) -> tuple[float | None, float | None]:
    samples = samples[np.isfinite(samples)]
    if not len(samples):
        return None, None
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(samples, [tail, 1.0 - tail])
    return float(low), float(high)


def _accuracies(scores: Scores, rows: np.ndarray, rng, bootstrap: int, confidence: float):
    """Accuracy estimates on `rows`, with paired intervals from resampling within them."""
    resamples = rng.integers(0, max(len(rows), 1), size=(bootstrap, len(rows)))
    result = {}
    for name in MODELS:
        values = scores.of(name)[rows]
        if not len(values):
            result[name] = Estimate(value=None, items=0)
            continue
        if len(values) < MIN_INTERVAL_ITEMS:
            result[name] = Estimate(value=float(values.mean()), items=len(values))
            continue
        low, high = _interval(scores.replicates(name, rows, resamples, rng), confidence)
        result[name] = Estimate(value=float(values.mean()), low=low, high=high, items=len(values))
    return result


def attribute(
    scores: Scores,
    chance: float,
    *,
    flagged: np.ndarray | None = None,
    typicality: np.ndarray | None = None,
    controls: dict[str, dict] | None = None,
    residual_by_construction: bool = False,
    bootstrap: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Attribution:
    """`controls` gives each control's convergence (`converged`, `train_loss_falling`, as
    `controls.convergence.diagnose` reads them); the shares a short-trained control feeds become
    bounds (`BOUNDS`). `residual_by_construction`: the candidate is the pretrained control
    itself, so its residual is zero however long that control trains: never a bound."""
    n = len(scores.candidate)
    rng = np.random.default_rng(seed)
    every = np.arange(n)
    accuracy = _accuracies(scores, every, rng, bootstrap, confidence)
    resamples = rng.integers(0, max(n, 1), size=(bootstrap, n))
    shares, undefined, undefined_share = None, None, 0.0
    a_x = accuracy["candidate"].value
    if a_x is None or a_x <= chance:
        undefined = (
            "the candidate's accuracy is not above chance, so there is nothing to attribute"
            if a_x is not None
            else "no benchmark items"
        )
    else:
        draws = {name: scores.replicates(name, every, resamples, rng) for name in MODELS}
        denominator = draws["candidate"] - chance
        valid = denominator > 0
        undefined_share = float(1.0 - valid.mean())
        numerators = {
            "fitting": draws["scratch"] - chance,
            "transfer": draws["pretrained"] - draws["scratch"],
            "residual": draws["candidate"] - draws["pretrained"],
        }
        point = {
            "fitting": accuracy["scratch"].value - chance,
            "transfer": accuracy["pretrained"].value - accuracy["scratch"].value,
            "residual": a_x - accuracy["pretrained"].value,
        }
        shares = {}
        for name in SHARES:
            replicate = np.where(
                valid, numerators[name] / np.where(valid, denominator, 1.0), np.nan
            )
            few = n < MIN_INTERVAL_ITEMS
            low, high = (None, None) if few else _interval(replicate, confidence)
            shares[name] = Estimate(value=point[name] / (a_x - chance), low=low, high=high, items=n)
    converged = _converged(controls or {}, accuracy, chance)
    if shares is not None:
        for name, bound in _bounds(converged, residual_by_construction).items():
            shares[name].bound = bound
    flags = np.zeros(n, dtype=bool) if flagged is None else np.asarray(flagged, dtype=bool)
    clean = _accuracies(scores, every[~flags], rng, bootstrap, confidence)
    dirty = _accuracies(scores, every[flags], rng, bootstrap, confidence)
    quintiles = {name: [] for name in MODELS}
    if typicality is not None and n:
        edges = np.quantile(typicality, [0.2, 0.4, 0.6, 0.8])
        bins = np.searchsorted(edges, typicality, side="right")
        for q in range(5):
            estimates = _accuracies(scores, every[bins == q], rng, bootstrap, confidence)
            for name in MODELS:
                quintiles[name].append(estimates[name])
    result = Attribution(
        chance=chance, confidence=confidence, bootstrap=bootstrap, accuracy=accuracy,
        shares=shares, undefined=undefined, undefined_replicates=undefined_share,
        clean=clean, flagged=dirty, typicality_quintiles=quintiles, converged=converged,
        verdict=[],
    )  # fmt: skip
    result.verdict = verdict(result)
    return result


def _converged(controls: dict[str, dict], accuracy: dict[str, Estimate], chance: float):
    """Each control's verdict as the shares read it: not converged by its curve's rule, or
    sitting within its interval of chance while its training loss still falls."""
    verdicts = {}
    for name, state in controls.items():
        estimate = accuracy[name]
        at_chance = estimate.low is not None and estimate.low <= chance <= estimate.high
        short = not state.get("converged", False) or (at_chance and state["train_loss_falling"])
        verdicts[name] = not short
    return verdicts


BOUNDS = {
    "scratch": {"fitting": "lower", "transfer": "upper"},
    "pretrained": {"transfer": "lower", "residual": "upper"},
}
"""A control trained longer can only score higher (its best validation was still rising), so a
short scratch control understates fitting and overstates transfer; a short pretrained control
understates transfer and overstates the residual. Both short: transfer could move either way."""


def _bounds(converged: dict[str, bool], residual_by_construction: bool) -> dict[str, str]:
    if residual_by_construction:
        return _bounds_candidate_is_pretrained(converged)
    bounds: dict[str, str] = {}
    for control, shares in BOUNDS.items():
        if converged.get(control, True):
            continue
        for share, bound in shares.items():
            bounds[share] = "unknown" if bounds.get(share, bound) != bound else bound
    return bounds


def _bounds_candidate_is_pretrained(converged: dict[str, bool]) -> dict[str, str]:
    """The candidate is the pretrained control (a_x = a_p): fitting = (a_s - a0) / (a_p - a0)
    and transfer = 1 - fitting, so a short pretrained control overstates fitting (its training
    would raise the denominator), a short scratch control understates it, and both short leave
    the direction unknown; the residual is zero however long either trains."""
    scratch, pretrained = (not converged.get(name, True) for name in ("scratch", "pretrained"))
    if scratch and pretrained:
        return {"fitting": "unknown", "transfer": "unknown"}
    if scratch:
        return {"fitting": "lower", "transfer": "upper"}
    if pretrained:
        return {"fitting": "upper", "transfer": "lower"}
    return {}


def _share(estimate: Estimate) -> str:
    words = {"lower": "at least ", "upper": "at most ", "unknown": "about "}
    return f"{words.get(estimate.bound, '')}{estimate.value:.0%}"


def verdict(result: Attribution) -> list[str]:
    """A few plain sentences derived from the numbers (no fixed prose)."""
    lines = []
    a = result.accuracy
    if result.shares is None:
        lines.append(f"Shares undefined: {result.undefined}.")
    else:
        s = result.shares
        candidate = a["candidate"].value
        lines.append(
            f"Of the candidate's {candidate:.1%} accuracy ({candidate - result.chance:+.1%} "
            f"over chance), a model trained from scratch on the same data explains "
            f"{_share(s['fitting'])} (distribution fitting), pre-training adds "
            f"{_share(s['transfer'])} (transfer) and {_share(s['residual'])} is left over."
        )
        short = [name for name, ok in result.converged.items() if not ok]
        if short:
            lines.append(
                f"The {' and '.join(short)} control{'s' if len(short) > 1 else ''} had not "
                "converged (still improving when the step or time budget ended, or at chance "
                "while the training loss still fell), so these shares are bounds, not estimates; "
                "`--budget full` trains to convergence and settles them."
            )
        widths = [e.high - e.low for e in s.values() if e.low is not None and e.high is not None]
        if widths and max(widths) > 1.0:
            lines.append(
                "The candidate is barely above chance, so these shares are imprecise (their "
                f"intervals span up to {max(widths):.0%})."
            )
        elif s["fitting"].low is not None and s["fitting"].low > 0.5 and not short:
            lines.append("Most of the gain over chance is reachable by fitting the training "
                         "distribution alone.")  # fmt: skip
    flagged, clean = result.flagged["candidate"], result.clean["candidate"]
    if flagged.items and clean.value is not None:
        gap = flagged.value - clean.value
        lines.append(
            f"On the {flagged.items} items that overlap the training data the candidate scores "
            f"{flagged.value:.1%}, on the {clean.items} clean items {clean.value:.1%} "
            f"({gap:+.1%})."
        )
    quintiles = result.typicality_quintiles
    if quintiles["scratch"] and all(q.value is not None for q in quintiles["scratch"]):
        drop_scratch = quintiles["scratch"][-1].value - quintiles["scratch"][0].value
        drop_pretrained = quintiles["pretrained"][-1].value - quintiles["pretrained"][0].value
        lines.append(
            f"From the least to the most typical fifth of items, the scratch control's accuracy "
            f"changes by {drop_scratch:+.1%} and the pretrained control's by "
            f"{drop_pretrained:+.1%}."
        )
    return lines
