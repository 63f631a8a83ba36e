"""Attribution shares and their bootstrap intervals on cases with known answers."""

import numpy as np
import pytest

from auditor.attribution import Scores, attribute


def exact_scores(n: int, rates: dict[str, float], seed: int = 0) -> Scores:
    """Correctness arrays with exactly the given accuracies, independently shuffled."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for name, rate in rates.items():
        row = np.zeros(n)
        row[: round(rate * n)] = 1.0
        arrays[name] = rng.permutation(row)
    return Scores(**arrays)


def test_point_shares_follow_the_definitions() -> None:
    scores = exact_scores(1000, {"candidate": 0.8, "scratch": 0.5, "pretrained": 0.7})
    result = attribute(scores, chance=0.25, bootstrap=500)
    shares = {name: estimate.value for name, estimate in result.shares.items()}
    assert shares["fitting"] == pytest.approx(0.25 / 0.55)
    assert shares["transfer"] == pytest.approx(0.20 / 0.55)
    assert shares["residual"] == pytest.approx(0.10 / 0.55)
    assert sum(shares.values()) == pytest.approx(1.0)
    for estimate in result.shares.values():
        assert estimate.low < estimate.value < estimate.high
    assert result.accuracy["scratch"].value == pytest.approx(0.5)
    assert any("explains 45%" in line for line in result.verdict)


def test_shares_undefined_at_chance() -> None:
    scores = exact_scores(200, {"candidate": 0.25, "scratch": 0.3, "pretrained": 0.3})
    result = attribute(scores, chance=0.25, bootstrap=100)
    assert result.shares is None
    assert "not above chance" in result.undefined
    assert result.verdict[0].startswith("Shares undefined")


def test_clean_flagged_and_typicality_strata() -> None:
    n = 500
    candidate = np.r_[np.ones(100), np.zeros(400)]
    scores = Scores(candidate=candidate, scratch=candidate.copy(), pretrained=np.ones(n))
    flagged = np.r_[np.ones(100, bool), np.zeros(400, bool)]
    typicality = np.linspace(0.01, 1.0, n)[::-1]  # the memorised items are the most typical
    result = attribute(scores, chance=0.1, flagged=flagged, typicality=typicality, bootstrap=200)
    assert result.flagged["candidate"].value == 1.0 and result.flagged["candidate"].items == 100
    assert result.clean["candidate"].value == 0.0 and result.clean["candidate"].items == 400
    quintiles = result.typicality_quintiles["scratch"]
    half = attribute(exact_scores(500, {"candidate": 0.5, "scratch": 0.5, "pretrained": 0.5}),
                     chance=0.1, flagged=np.arange(500) < 50, bootstrap=1000)  # fmt: skip
    width = half.flagged["candidate"].high - half.flagged["candidate"].low
    assert 0.2 < width < 0.36  # resampled at the subset's own size: ±1.96·sqrt(.25/50) ≈ ±0.14
    assert [q.items for q in quintiles] == [100] * 5
    assert quintiles[-1].value == 1.0 and quintiles[0].value == 0.0


def test_interval_coverage_of_the_fitting_share() -> None:
    """95% intervals cover the true share in about 95% of simulated benchmarks."""
    rng = np.random.default_rng(7)
    truth = (0.55 - 0.25) / (0.75 - 0.25)
    covered = []
    for trial in range(120):
        n = 400
        scores = Scores(
            candidate=(rng.random(n) < 0.75).astype(float),
            scratch=(rng.random(n) < 0.55).astype(float),
            pretrained=(rng.random(n) < 0.70).astype(float),
        )
        estimate = attribute(scores, chance=0.25, bootstrap=400, seed=trial).shares["fitting"]
        covered.append(estimate.low <= truth <= estimate.high)
    assert 0.88 <= np.mean(covered) <= 0.99


def test_seed_variance_widens_the_intervals() -> None:
    """Three seeds that disagree (accuracies 0.4, 0.6, 0.8) against three identical seeds of the
    same mean: same point estimate, and only the disagreeing seeds widen the interval."""
    n, rng = 2000, np.random.default_rng(1)
    candidate = (rng.random(n) < 0.9).astype(float)
    varied = np.stack([(rng.random(n) < p).astype(float) for p in (0.4, 0.6, 0.8)], axis=1)
    same = np.repeat(varied.mean(axis=1, keepdims=True), 3, axis=1)
    results = [
        attribute(Scores(candidate, scratch, candidate), chance=0.25, bootstrap=1000)
        for scratch in (varied, same)
    ]
    widths = [r.accuracy["scratch"].high - r.accuracy["scratch"].low for r in results]
    points = [r.accuracy["scratch"].value for r in results]
    assert points[0] == pytest.approx(points[1])
    assert widths[0] > 4 * widths[1]  # seed spread ~0.16/sqrt(3) dwarfs the item noise
    fitting = [r.shares["fitting"].high - r.shares["fitting"].low for r in results]
    assert fitting[0] > 3 * fitting[1]


def test_too_few_items_get_no_interval() -> None:
    """Three correct items are not "100% [100%, 100%]": the value stands alone, and says why."""
    from auditor.render.sections import estimate

    scores = exact_scores(40, {"candidate": 0.9, "scratch": 0.5, "pretrained": 0.8})
    flagged = np.zeros(40, dtype=bool)
    flagged[:3] = True
    result = attribute(scores, chance=0.25, flagged=flagged, bootstrap=200)
    assert result.flagged["candidate"].items == 3 and result.flagged["candidate"].low is None
    assert result.clean["candidate"].low is not None  # 37 items: an interval
    assert estimate(result.flagged["candidate"]).endswith("(3 items, no interval)")


def test_a_self_pretrained_control_splits_transfer_by_the_definitions() -> None:
    """fitting + training text + external transfer + residual = 1, transfer = the two parts,
    each from the accuracies by DESIGN's formulas (a_t = 0.6 between a_s = 0.5 and a_p = 0.7)."""
    rates = {"candidate": 0.8, "scratch": 0.5, "selfpretrained": 0.6, "pretrained": 0.7}
    result = attribute(exact_scores(1000, rates), chance=0.25, bootstrap=500)
    shares = {name: estimate.value for name, estimate in result.shares.items()}
    assert list(shares) == ["fitting", "transfer", "training_text", "external_transfer",
                            "residual"]  # fmt: skip
    assert shares["training_text"] == pytest.approx(0.10 / 0.55)
    assert shares["external_transfer"] == pytest.approx(0.10 / 0.55)
    split = shares["training_text"] + shares["external_transfer"]
    assert shares["transfer"] == pytest.approx(split)
    parts = ("fitting", "training_text", "external_transfer", "residual")
    assert sum(shares[name] for name in parts) == pytest.approx(1.0)
    for name in parts:
        assert result.shares[name].low < shares[name] < result.shares[name].high
    assert result.accuracy["selfpretrained"].value == pytest.approx(0.6)
    assert "training text alone gives 18%" in result.verdict[1]
    without = attribute(
        exact_scores(1000, {k: v for k, v in rates.items() if k != "selfpretrained"}),
        chance=0.25,
        bootstrap=100,
    )
    assert "training_text" not in without.shares and "selfpretrained" not in without.accuracy


def test_a_self_pretrained_control_below_scratch_is_said_in_words() -> None:
    rates = {"candidate": 0.8, "scratch": 0.6, "selfpretrained": 0.4, "pretrained": 0.7}
    result = attribute(exact_scores(1000, rates), chance=0.25, bootstrap=200)
    assert result.shares["training_text"].value < 0
    assert "scored below the scratch control (40.0% vs 60.0%)" in result.verdict[1]
    assert "--pretrain-steps" in result.verdict[1]


@pytest.mark.parametrize(
    ("short", "by_construction", "expected"),
    [
        (("selfpretrained",), False, {"training_text": "lower", "external_transfer": "upper"}),
        (("scratch",), False, {"fitting": "lower", "transfer": "upper", "training_text": "upper"}),
        (("scratch", "selfpretrained"), False,
         {"fitting": "lower", "transfer": "upper", "training_text": "unknown",
          "external_transfer": "upper"}),
        (("pretrained",), False,
         {"transfer": "lower", "external_transfer": "lower", "residual": "upper"}),
        (("selfpretrained", "pretrained"), False,
         {"training_text": "lower", "external_transfer": "unknown", "transfer": "lower",
          "residual": "upper"}),
        (("pretrained",), True,
         {"fitting": "upper", "transfer": "lower", "training_text": "unknown",
          "external_transfer": "unknown"}),
    ],
)  # fmt: skip
def test_short_controls_bound_the_shares_they_feed(short, by_construction, expected) -> None:
    """A control trained longer scores higher: each share moves the way its formula says, and
    two controls pulling one share both ways leave it unknown (never a point estimate)."""
    rates = {"candidate": 0.7 if by_construction else 0.8, "scratch": 0.5,
             "selfpretrained": 0.6, "pretrained": 0.7}  # fmt: skip
    state = {name: {"converged": name not in short, "train_loss_falling": False}
             for name in ("scratch", "selfpretrained", "pretrained")}  # fmt: skip
    result = attribute(exact_scores(400, rates), chance=0.25, controls=state, bootstrap=100,
                       residual_by_construction=by_construction)  # fmt: skip
    bounds = {name: e.bound for name, e in result.shares.items() if e.bound is not None}
    assert bounds == expected
