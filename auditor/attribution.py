"""Attribution: how much of the candidate's accuracy is chance, distribution fitting, transfer.

With chance accuracy a0 (card), scratch control a_s, pretrained control a_p and candidate a_x,
all on the same benchmark items (DESIGN.md):

    fitting share  = (a_s - a0) / (a_x - a0)
    transfer share = (a_p - a_s) / (a_x - a0)
    residual share = (a_x - a_p) / (a_x - a0)

The three add up to 1. With a self-pretrained control a_t (the scratch architecture pretrained on
the training text alone, then fine-tuned), transfer splits in two:

    training-text share      = (a_t - a_s) / (a_x - a0)   what the training text itself teaches
    external transfer share  = (a_p - a_t) / (a_x - a0)   what pre-training on other text adds

so fitting + training text + external transfer + residual = 1, and `transfer` stays their sum.
Confidence intervals come from the paired bootstrap over benchmark items
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

MODELS = ("candidate", "scratch", "selfpretrained", "pretrained")
"""Every model a run can score, in the order the report lists them; `selfpretrained` only when
that control was trained."""
MIN_INTERVAL_ITEMS = 20
"""Fewer items than this get no bootstrap interval: resampling 3 items that are all correct
gives [100%, 100%], a 95% interval that claims a certainty three items cannot give."""
CONTROL_WORDS = {"scratch": "scratch", "selfpretrained": "self-pretrained",
                 "pretrained": "pretrained"}  # fmt: skip


@dataclass(frozen=True)
class Scores:
    """Per-item correctness in [0, 1] for each model: a vector, or an items x seeds matrix for
    a control trained with several seeds."""

    candidate: np.ndarray
    scratch: np.ndarray
    pretrained: np.ndarray
    selfpretrained: np.ndarray | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """The models scored, in `MODELS` order."""
        return tuple(name for name in MODELS if getattr(self, name) is not None)

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
    for name in scores.names:
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
    `controls.convergence.diagnose` reads them, and `sample` when it trained on part of the
    data); the shares a short-trained or sampled control feeds become bounds (`BOUNDS`).
    `residual_by_construction`: the candidate is the pretrained control itself, so its residual
    is zero however long that control trains: never a bound."""
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
        draws = {name: scores.replicates(name, every, resamples, rng) for name in scores.names}
        denominator = draws["candidate"] - chance
        valid = denominator > 0
        undefined_share = float(1.0 - valid.mean())
        point = {name: estimate.value for name, estimate in accuracy.items()}
        shares = {}
        for name, numerator in _numerators(point, chance).items():
            replicate = np.where(
                valid, numerator(draws) / np.where(valid, denominator, 1.0), np.nan
            )
            low, high = (None, None) if n < MIN_INTERVAL_ITEMS else _interval(replicate, confidence)
            shares[name] = Estimate(value=numerator(point) / (a_x - chance), low=low, high=high,
                                    items=n)  # fmt: skip
    converged = _converged(controls or {}, accuracy, chance)
    sampled = {name: state["sample"] for name, state in (controls or {}).items()
               if state.get("sample")}  # fmt: skip
    full = {name: ok and name not in sampled for name, ok in converged.items()}
    if shares is not None:
        for name, bound in _bounds(full, residual_by_construction).items():
            if name in shares:
                shares[name].bound = bound
    flags = np.zeros(n, dtype=bool) if flagged is None else np.asarray(flagged, dtype=bool)
    clean = _accuracies(scores, every[~flags], rng, bootstrap, confidence)
    dirty = _accuracies(scores, every[flags], rng, bootstrap, confidence)
    quintiles = {name: [] for name in scores.names}
    if typicality is not None and n:
        edges = np.quantile(typicality, [0.2, 0.4, 0.6, 0.8])
        bins = np.searchsorted(edges, typicality, side="right")
        for q in range(5):
            estimates = _accuracies(scores, every[bins == q], rng, bootstrap, confidence)
            for name in scores.names:
                quintiles[name].append(estimates[name])
    result = Attribution(
        chance=chance, confidence=confidence, bootstrap=bootstrap, accuracy=accuracy,
        shares=shares, undefined=undefined, undefined_replicates=undefined_share,
        clean=clean, flagged=dirty, typicality_quintiles=quintiles, converged=converged,
        sampled=sampled, verdict=[],
    )  # fmt: skip
    result.verdict = verdict(result, settle=_what_settles(controls or {}))
    return result


def _what_settles(controls: dict[str, dict]) -> str:
    """What would let the short controls converge, from what stopped their runs."""
    stops = {run.get("stopped_by") for state in controls.values() for run in state.get("runs", [])
             if not run.get("converged", True)}  # fmt: skip
    if "time cap" in stops:
        return "a larger `--max-minutes` (or none) would let them finish and settle them"
    if "step budget" in stops:
        return (
            "a larger `--max-steps`, or `--budget full` (no step cap, every training item), "
            "would let them finish and settle them"
        )
    return "`--budget full` (every training item, up to 20 epochs) trains longer and settles them"


def _numerators(accuracy: dict, chance: float) -> dict:
    """Each share's numerator as a function of the models' accuracies (points or bootstrap
    draws alike), in the order the report lists them; the training-text split only when the
    self-pretrained control was scored."""
    numerators = {
        "fitting": lambda a: a["scratch"] - chance,
        "transfer": lambda a: a["pretrained"] - a["scratch"],
    }
    if "selfpretrained" in accuracy:
        numerators["training_text"] = lambda a: a["selfpretrained"] - a["scratch"]
        numerators["external_transfer"] = lambda a: a["pretrained"] - a["selfpretrained"]
    numerators["residual"] = lambda a: a["candidate"] - a["pretrained"]
    return numerators


def _converged(controls: dict[str, dict], accuracy: dict[str, Estimate], chance: float):
    """Each control's verdict as the shares read it: not converged by its curve's rule, or not
    above chance (its interval reaches down to chance, or lies below it) while its training loss
    still falls: a model still learning has not shown what it can fit."""
    verdicts = {}
    for name, state in controls.items():
        estimate = accuracy[name]
        not_above = estimate.low is not None and estimate.low <= chance
        short = not state.get("converged", False) or (not_above and state["train_loss_falling"])
        verdicts[name] = not short
    return verdicts


BOUNDS = {
    "scratch": {"fitting": "lower", "transfer": "upper", "training_text": "upper"},
    "selfpretrained": {"training_text": "lower", "external_transfer": "upper"},
    "pretrained": {"transfer": "lower", "external_transfer": "lower", "residual": "upper"},
}
"""A control trained longer, or on all the training data rather than a sample, can only score
higher (its best validation was still rising; more data of the distribution to fit), so a
short scratch control understates fitting and overstates what comes after it; a short
self-pretrained control understates what the training text teaches and overstates external
transfer; a short pretrained control understates transfer and overstates the residual. Two short
controls pulling one share both ways leave its direction unknown."""

BOUNDS_CANDIDATE_IS_PRETRAINED = {
    "scratch": {"fitting": "lower", "transfer": "upper", "training_text": "upper"},
    "selfpretrained": {"training_text": "lower", "external_transfer": "upper"},
    "pretrained": {"fitting": "upper", "transfer": "lower", "training_text": "unknown",
                   "external_transfer": "unknown"},
}  # fmt: skip
"""The candidate is the pretrained control (a_x = a_p): every share is over a_p - a0, so a short
pretrained control, whose training would raise that denominator, overstates fitting and
understates transfer (and leaves the direction of the training-text split unknown); the residual
is zero however long any control trains, never a bound."""


def _bounds(converged: dict[str, bool], residual_by_construction: bool) -> dict[str, str]:
    table = BOUNDS_CANDIDATE_IS_PRETRAINED if residual_by_construction else BOUNDS
    bounds: dict[str, str] = {}
    for control, shares in table.items():
        if converged.get(control, True):
            continue
        for share, bound in shares.items():
            bounds[share] = "unknown" if bounds.get(share, bound) != bound else bound
    return bounds


def _share(estimate: Estimate) -> str:
    words = {"lower": "at least ", "upper": "at most ", "unknown": "about "}
    return f"{words.get(estimate.bound, '')}{estimate.value:.0%}"


def _split_sentence(s: dict[str, Estimate], a: dict[str, Estimate]) -> str:
    """What the self-pretrained control says of transfer, in words."""
    line = (f"Of that transfer, pre-training on the training text alone gives "
            f"{_share(s['training_text'])} and pre-training on other text "
            f"{_share(s['external_transfer'])} (external transfer).")  # fmt: skip
    if s["training_text"].value < 0:
        line += (
            f" The self-pretrained control scored below the scratch control "
            f"({a['selfpretrained'].value:.1%} vs {a['scratch'].value:.1%}): its pretraining on "
            "the training text made a worse start at this budget, so this split does not measure "
            "what the text can teach; a longer pretraining (`--pretrain-steps`) would."
        )
    return line


def _sampled_sentence(samples: dict[str, dict[str, int]], names: list[str]) -> str:
    """Why converged controls trained on a sample still leave the shares as bounds."""
    which = " and ".join(CONTROL_WORDS[name] for name in names)
    counts = sorted({(samples[name]["items"], samples[name]["of"]) for name in names})
    told = ", ".join(f"{items:,} of {of:,}" for items, of in counts)
    return (
        f"The {which} control{'s' if len(names) > 1 else ''} trained on a sample of the "
        f"training data ({told} items, the budget's cap): on all of it a control scores higher, "
        "so these shares are bounds, not estimates; `--budget full` trains on every item."
    )


def _below_chance(accuracy: dict[str, Estimate], chance: float) -> list[str]:
    """A sentence for each control whose whole interval lies below chance: it learned something
    from the training data that misleads on the benchmark, so the share it feeds is not what
    fitting the distribution gives a sound model, and the user should look at the labels."""
    lines = []
    for name, words in CONTROL_WORDS.items():
        estimate = accuracy.get(name)
        if estimate is None or estimate.high is None or estimate.high >= chance:
            continue
        lines.append(
            f"The {words} control scores below chance ({estimate.value:.1%} "
            f"[{estimate.low:.1%}, {estimate.high:.1%}] vs {chance:.1%}): what it learned from "
            "the training data misleads on this benchmark (a label distribution unlike the "
            "benchmark's, or labels that mean different things in the two files), so the shares "
            "it feeds measure that mismatch, not distribution fitting; check the labels first."
        )
    return lines


def verdict(result: Attribution, settle: str) -> list[str]:
    """A few plain sentences derived from the numbers (no fixed prose); `settle` says what
    would let a short control converge."""
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
        if "training_text" in s:
            lines.append(_split_sentence(s, a))
        short = [CONTROL_WORDS[name] for name, ok in result.converged.items() if not ok]
        if short:
            lines.append(
                f"The {' and '.join(short)} control{'s' if len(short) > 1 else ''} had not "
                "converged (still improving when the step or time budget ended, or not above "
                "chance while the training loss still fell), so these shares are bounds, not "
                f"estimates; {settle}."
            )
        lines.extend(_below_chance(a, result.chance))
        sampled = [name for name in result.sampled if result.converged.get(name, True)]
        if sampled:
            lines.append(_sampled_sentence(result.sampled, sampled))
        fitting = s["fitting"]  # "most" needs it known or bounded below, not either way
        widths = [e.high - e.low for e in s.values() if e.low is not None and e.high is not None]
        if widths and max(widths) > 1.0:
            lines.append(
                "The candidate is barely above chance, so these shares are imprecise (their "
                f"intervals span up to {max(widths):.0%})."
            )
        elif fitting.low is not None and fitting.low > 0.5 and fitting.bound in (None, "lower"):
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
