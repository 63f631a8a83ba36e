"""Calibration: thresholds from the null sample, checked on known nulls and on real
same-distribution splits, where the estimated false-positive rate must match the measured one
within a factor of two at the 1% target."""

import numpy as np
import pytest

from auditor.calibration import calibrate
from auditor.loading import load_corpus
from auditor.overlap import run_overlap
from probes.base import ItemScore, ProbeResult
from probes.null import NullSample
from tests.helpers import corpus


def result(name: str, items: list[float], null: np.ndarray) -> ProbeResult:
    return ProbeResult(probe=name, kind="overlap", params={}, threshold=0.5, null=null,
                       items=[ItemScore(s, s >= 0.5) for s in items])  # fmt: skip


def sample(m: int) -> NullSample:
    return NullSample(rows=np.arange(m), texts=[""] * m, seed=0)


def test_one_probe_threshold_is_the_null_quantile():
    null = np.arange(1000) / 1000  # 0.000 .. 0.999
    [out], record = calibrate([result("a", [0.985, 0.995, 0.2], null)], sample(1000), 0.01)
    # 10 of the 1,000 null queries may be flagged (each compared with the other 999: the top
    # 10, which have at most 9 others at or above them); an item is flagged when at most 9 null
    # scores reach it, i.e. above the 10th largest, 0.990
    assert record.thresholds["a"] == pytest.approx(0.990)
    assert record.estimated_fpr == pytest.approx(0.01)
    assert [item.flagged for item in out.items] == [False, True, False]
    assert out.threshold == pytest.approx(0.990)


def test_two_independent_probes_share_the_rate():
    rng = np.random.default_rng(0)
    a, b = rng.random(4000), rng.random(4000)
    _, record = calibrate([result("a", [], a), result("b", [], b)], sample(4000), 0.01)
    assert record.estimated_fpr <= 0.01
    assert record.estimated_fpr >= 0.009
    # union of two independent probes: each gets about half the rate
    assert record.probe_fpr["a"] == pytest.approx(0.005, abs=0.0015)
    assert record.probe_fpr["b"] == pytest.approx(0.005, abs=0.0015)


def test_copies_are_left_out_of_the_null_and_always_flag():
    null = np.r_[np.ones(50), np.zeros(950)]  # 5% of the openings are copied elsewhere
    [out], record = calibrate([result("a", [1.0, 0.5], null)], sample(1000), 0.01)
    assert record.copies == 50 and record.queries == 950
    assert record.thresholds["a"] == 0.0
    assert [item.flagged for item in out.items] == [True, True]
    assert record.estimated_fpr == 0.0


def test_ties_below_the_top_flag_nothing_rather_than_too_much():
    null = np.r_[np.full(50, 0.9), np.zeros(950)]  # 5% of distinct documents score 0.9
    [out], record = calibrate([result("a", [0.9, 0.95, 0.5], null)], sample(1000), 0.01)
    assert record.thresholds["a"] == 0.9
    assert [item.flagged for item in out.items] == [False, True, False]
    assert record.estimated_fpr == 0.0


def test_duplicated_documents_are_left_out_of_the_null():
    null_sample = sample(1000)
    null_sample.duplicated[:500] = True
    null = np.r_[np.full(500, 0.99), np.arange(500) / 1000]
    _, record = calibrate([result("a", [], null)], null_sample, 0.01)
    assert record.queries == 500 and record.dropped == 500
    assert record.thresholds["a"] < 0.5


def _split(texts: list[str], seed: int) -> tuple[list[str], list[str]]:
    order = np.random.default_rng(seed).permutation(len(texts))
    half = len(texts) // 2
    return [texts[i] for i in order[:half]], [texts[i] for i in order[half:]]


@pytest.mark.parametrize("source", ["trec:train", "sst2:train"])
def test_estimated_rate_holds_on_same_distribution_splits(source):
    """Half of a training set as the benchmark, the other half as the corpus: every flag of a
    calibrated probe on an item with no exact copy in the other half is a false positive."""
    bench, train = _split(load_corpus(source).texts, seed=1)
    report = run_overlap(corpus(train, "train"), corpus(bench, "bench"), fpr=0.01, seed=1)
    calibrated = report.calibration.thresholds
    distinct = [item for item in report.items if not item.probes["exact"].flagged
                and all(item.probes[name].score < 1.0 - 1e-6 for name in calibrated)]  # fmt: skip
    measured = np.mean([any(item.probes[name].flagged for name in calibrated)
                        for item in distinct])  # fmt: skip
    estimated = report.calibration.estimated_fpr
    assert 0.005 <= estimated <= 0.01
    assert estimated / 2 <= measured <= estimated * 2, (measured, estimated)
