"""One calibrated verdict per benchmark item: the calibrated probes' thresholds set together so
that, on the null sample, the union of their flags fires at most at the target rate.

The null sample (`probes.null`) holds m training spans shaped like benchmark items, each scored
by every calibrated probe against the corpus minus its own document: the scores two distinct
documents of this corpus reach. Queries whose document occurs twice, and queries that a probe
scores as a copy (its top score, 1: every n-gram found, an identical embedding), are dropped:
a copy is what the audit looks for, not a false positive (TREC's training set holds about 2% of
questions whose words all occur in another question), and an item scoring 1 is always flagged.
For a probe
r with null scores z_r, an item with score s is flagged when at most k null scores reach it
(#{z_r >= s} <= k), that is when s is above the (k+1)-th largest null score, which is the
threshold reported. One k serves every calibrated probe (the same empirical p-value cut-off,
k/m), and it is the largest k at which the union of flags, applied to the null queries
themselves (each compared with the other m - 1), fires on at most `fpr` of them: so the
estimated false-positive rate is that of the combined verdict, not of each probe alone.

Probes that do not calibrate (exact copies; MinHash at a Jaccard threshold) keep their own
thresholds; they flag copies, whose rate among distinct documents is near zero by
construction. The estimate assumes the benchmark items are as far from the corpus as the null
spans are from the other documents: it is exact for a benchmark drawn from the training
distribution (checked against same-distribution splits in `tests/test_calibration.py`) and
conservative for one farther away.
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from auditor.corpus import Corpus
from probes.base import FitContext, ItemScore, Probe, ProbeResult
from probes.null import NullSample, draw_null

DEFAULT_FPR = 0.01
COPY = 1.0 - 1e-6
"""A null score this high is a copy, not a distinct document (scores lie in [0, 1])."""


def null_context(
    train: Corpus | None,
    bench: Corpus,
    probes: Sequence[Probe],
    context: FitContext,
    *,
    fpr: float,
    size: int,
    seed: int,
) -> FitContext:
    """`context` with a null sample for the calibrated probes to score, when calibration is on
    (`fpr` > 0) and some probe calibrates."""
    if train is None or fpr <= 0 or size <= 0 or not any(p.calibrates for p in probes):
        return context
    lengths = np.array([len(text.split()) for text in bench.texts])
    return replace(context, null=draw_null(train, lengths, size, seed))


@dataclass(frozen=True)
class Calibration:
    fpr: float
    """The target false-positive rate."""
    estimated_fpr: float
    """The combined verdict's rate on the null sample."""
    queries: int
    """Null queries used (distinct documents)."""
    dropped: int
    """Null queries dropped: their document occurs more than once in the corpus."""
    copies: int
    """Null queries dropped as copies: a calibrated probe gave them its top score (1: all their
    n-grams found, an identical embedding), so their document's opening is copied elsewhere."""
    allowed: int
    """k: null scores allowed at or above a flagged score."""
    thresholds: dict[str, float | None]
    """Per calibrated probe: flag when score > this (None: no score can be flagged)."""
    probe_fpr: dict[str, float]
    """Per calibrated probe: its own flags' rate on the null sample at its threshold."""
    seed: int
    method: str


def _ranks(null: np.ndarray) -> np.ndarray:
    """For each null score, how many of the other null scores are at least as high."""
    ordered = np.sort(null)
    return len(null) - np.searchsorted(ordered, null, side="left") - 1


def calibrate(
    results: list[ProbeResult], null: NullSample, fpr: float
) -> tuple[list[ProbeResult], Calibration | None]:
    """Re-flag the calibrated probes' items at the target rate; the calibration record."""
    calibrated = [r for r in results if r.null is not None]
    if not calibrated:
        return results, None
    null_scores = np.stack([np.asarray(r.null, dtype=np.float64) for r in calibrated])
    copies = null.valid & (null_scores >= COPY).any(axis=0)
    valid = null.valid & ~copies
    m = int(valid.sum())
    if m == 0:
        return results, None
    scores = {r.probe: values[valid] for r, values in zip(calibrated, null_scores, strict=True)}
    ranks = {name: _ranks(values) for name, values in scores.items()}
    best_rank = np.min(np.stack(list(ranks.values())), axis=0)
    ordered = np.sort(best_rank)
    budget = int(np.floor(fpr * m + 1e-9))
    allowed = int(ordered[budget] - 1) if budget < m else m - 1
    allowed = max(allowed, -1)
    thresholds: dict[str, float | None] = {}
    for name, values in scores.items():
        descending = np.sort(values)[::-1]
        thresholds[name] = float(descending[allowed]) if allowed >= 0 else None
    out = []
    for result in results:
        if result.probe not in thresholds:
            out.append(result)
            continue
        cut = thresholds[result.probe]
        items = [
            ItemScore(item.score, cut is not None and item.score > cut, item.match)
            for item in result.items
        ]
        out.append(replace(result, items=items, threshold=cut))
    record = Calibration(
        fpr=fpr,
        estimated_fpr=float(np.mean(best_rank <= allowed)) if allowed >= 0 else 0.0,
        queries=m,
        dropped=int((~null.valid).sum()),
        copies=int(copies.sum()),
        allowed=allowed,
        thresholds=thresholds,
        probe_fpr={
            name: float(np.mean(rank <= allowed)) if allowed >= 0 else 0.0
            for name, rank in ranks.items()
        },
        seed=null.seed,
        method=(
            f"thresholds set on {m} training-document openings sized like the benchmark items, "
            "each scored against every other training document (documents that occur twice, "
            "and openings a probe scores as a copy, dropped): an item is "
            f"flagged by {', '.join(scores)} when its score is above the threshold, where at "
            f"most {max(allowed, 0)} of the {m} null scores lie, chosen so the union of the "
            f"flags fires on at most {fpr:.1%} of the null spans"
        ),
    )
    return out, record
