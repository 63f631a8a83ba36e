"""Shift tests on real data: calibration under the null, power, typicality, determinism."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from auditor.embeddings import Encoder
from auditor.loading import load_corpus
from auditor.shift import holm, run_shift
from probes import build_probes
from probes.c2st import c2st_test
from probes.mmd import mmd_test
from probes.twosample import p_value_floor
from tests.helpers import corpus

ALPHA = 0.05


@pytest.fixture(scope="module")
def sst2_pool() -> np.ndarray:
    """MiniLM embeddings of 1,200 SST-2 training sentences: one distribution to split."""
    texts = load_corpus("sst2:train").texts[:1200]
    return Encoder("minilm").encode_cached(texts, "sst2-train-first-1200", 0)


def null_splits(pool: np.ndarray, count: int, size: int):
    """`count` pairs of disjoint random halves of `2 * size` items of one split."""
    rng = np.random.default_rng(123)
    for _ in range(count):
        rows = rng.choice(len(pool), 2 * size, replace=False)
        yield pool[rows[:size]], pool[rows[size:]]


def test_mmd_false_positive_rate(sst2_pool) -> None:
    p_values = [
        mmd_test(x, y, n_permutations=200, seed=i)["p_value"]
        for i, (x, y) in enumerate(null_splits(sst2_pool, 80, 60))
    ]
    assert 0.01 <= np.mean(np.array(p_values) <= ALPHA) <= 0.10


def test_c2st_false_positive_rate(sst2_pool) -> None:
    p_values = [
        c2st_test(x, y, n_permutations=40, max_per_side=60, seed=i)[0]["p_value"]
        for i, (x, y) in enumerate(null_splits(sst2_pool, 80, 60))
    ]
    assert 0.01 <= np.mean(np.array(p_values) <= ALPHA) <= 0.10


@pytest.mark.parametrize(
    ("train", "bench"), [("sst2:train", "trec:test"), ("gsm8k:train", "sst2:test")]
)
def test_power_on_different_datasets(train: str, bench: str) -> None:
    """Clearly different data: MMD's p-value under 0.001, and the classifier separates the sets
    better than every one of its 200 label permutations (its p-value at the floor, 1/201)."""
    probes = build_probes(["mmd", "c2st"], {"c2st": {"max_per_side": 150}})
    report = run_shift(load_corpus(train), load_corpus(bench), probes)
    assert report.tests["mmd"].p_value < 0.001
    assert report.tests["c2st"].details["auc"] > 0.95
    c2st = report.tests["c2st"]
    assert c2st.statistic == pytest.approx(2 * c2st.details["auc"] - 1)
    assert c2st.p_value == pytest.approx(p_value_floor(200))
    assert report.summary.shifted


def test_same_distribution_is_not_shifted_and_typicality_is_calibrated() -> None:
    report = run_shift(load_corpus("sst2:train"), load_corpus("sst2:test"))
    assert not report.summary.shifted
    typicality = np.array([item.scores["typicality"] for item in report.items])
    assert 0.4 < np.median(typicality) < 0.6  # conformal p-values are uniform under the null
    assert 0.90 < report.tests["typicality"].statistic < 0.99  # coverage
    assert report.tests["labels"].details["total_variation"] < 0.05


def test_typicality_ranks_planted_out_of_domain_items_lower() -> None:
    in_domain = load_corpus("sst2:test").texts[:200]
    out_of_domain = load_corpus("gsm8k:test").texts[:50]
    bench = corpus(in_domain + out_of_domain, "mixed")
    report = run_shift(load_corpus("sst2:train"), bench, build_probes(["typicality"]))
    typicality = [item.scores["typicality"] for item in report.items]
    is_in_domain = [1] * len(in_domain) + [0] * len(out_of_domain)
    assert roc_auc_score(is_in_domain, typicality) > 0.9


def test_same_seed_same_numbers() -> None:
    train, bench = corpus(load_corpus("trec:train").texts[:300]), load_corpus("trec:test")
    probes = {"c2st": {"n_permutations": 20}, "mmd": {"n_permutations": 100}}
    first = run_shift(train, bench, build_probes(["mmd", "c2st", "typicality", "lexical"], probes))
    second = run_shift(train, bench, build_probes(["mmd", "c2st", "typicality", "lexical"], probes))
    assert first.model_dump() == second.model_dump()


def test_labels_and_lexical_known_answers() -> None:
    train = load_corpus("trec:train")
    bench = corpus(["How far is it ?", "zzyzx qwvvk ?"], "b")
    report = run_shift(train, bench, build_probes(["lexical", "labels"]))
    lexical = report.tests["lexical"].details
    assert lexical["oov_rate"] == pytest.approx(2 / 6)  # "zzyzx" and "qwvvk" never occur in TREC
    assert lexical["items_with_oov"] == pytest.approx(0.5)
    assert report.tests["labels"].skipped == "the benchmark has no labels"
    same = run_shift(train, load_corpus("trec:train"), build_probes(["labels"]))
    assert same.tests["labels"].details["total_variation"] == 0.0
    assert same.tests["labels"].p_value == pytest.approx(1.0)


def test_holm_adjustment() -> None:
    adjusted = holm({"a": 0.01, "b": 0.04, "c": 0.03})
    assert adjusted == pytest.approx({"a": 0.03, "b": 0.06, "c": 0.06})


@pytest.mark.parametrize("size", [300, 9_000, 60_000])
def test_length_ks_from_counts_equals_scipy_on_the_lengths(size: int) -> None:
    """The lexical probe keeps training lengths as counts (memory: the longest length); its KS
    test must be scipy's ks_2samp on the lengths themselves, exact and asymptotic paths alike."""
    from scipy.stats import ks_2samp

    from probes.lexical import ks_from_counts

    rng = np.random.default_rng(size)
    train = rng.poisson(14, size) + rng.integers(0, 3, size)
    bench = rng.poisson(15, 700)
    expected = ks_2samp(train, bench)
    statistic, p_value = ks_from_counts(np.bincount(train), bench)
    assert statistic == pytest.approx(float(expected.statistic), abs=1e-12)
    assert p_value == pytest.approx(float(expected.pvalue), rel=1e-9, abs=1e-300)
