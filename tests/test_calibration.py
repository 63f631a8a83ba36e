"""Calibration: thresholds from the null sample, checked on known nulls and on real
same-distribution splits, where the estimated false-positive rate must match the measured one
within a factor of two at the 1% target."""

import numpy as np
import pytest

from auditor.calibration import calibrate
from auditor.loading import load_corpus
from auditor.overlap import run_overlap
from auditor.scan import run_probes
from probes import build_probes
from probes.base import FitContext, ItemScore, ProbeResult
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


def test_two_independent_probes_combine_into_one_rate():
    rng = np.random.default_rng(0)
    a, b = rng.random(4000), rng.random(4000)
    items = [[0.9995, 0.5], [0.5, 0.9995], [0.985, 0.985], [0.9, 0.9]]
    results = [result("a", [x for x, _ in items], a), result("b", [y for _, y in items], b)]
    out, record = calibrate(results, sample(4000), 0.01)
    assert 0.009 <= record.estimated_fpr <= 0.01
    # the product of two independent uniform p-values is below c with probability
    # c (1 - ln c): 1% at c = 0.00131; alone, each probe needs p < c
    assert record.cut == pytest.approx(0.00131, rel=0.15)
    assert record.probe_fpr["a"] == pytest.approx(0.0013, abs=0.0008)
    flagged = [a.flagged or b.flagged for a, b in zip(*(r.items for r in out), strict=True)]
    # high on one probe alone; somewhat high on both (p 0.015 x 0.015); neither
    assert flagged == [True, True, True, False]


def test_a_top_score_that_distinct_documents_reach_is_weak_evidence():
    null = np.r_[np.ones(50), np.zeros(950)]  # 5% of distinct documents score 1 (TREC-like)
    [out], record = calibrate([result("a", [1.0, 0.5], null)], sample(1000), 0.01)
    assert record.thresholds["a"] == 1.0  # alone, flags only above 1: nothing
    assert [item.flagged for item in out.items] == [False, False]
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
    calibrated probe on an item with no exact copy in the other half is a false positive.
    5,000 items of each (TREC has 5,452, SST-2 6,920): about 25 expected false flags a side."""
    bench, train = _split(load_corpus(source).texts[:5000], seed=1)
    report = run_overlap(corpus(train, "train"), corpus(bench, "bench"), fpr=0.01, seed=1)
    calibrated = report.calibration.thresholds
    distinct = [item for item in report.items if not item.probes["exact"].flagged]
    measured = np.mean([any(item.probes[name].flagged for name in calibrated)
                        for item in distinct])  # fmt: skip
    estimated = report.calibration.estimated_fpr
    assert 0.005 <= estimated <= 0.01
    assert estimated / 2 <= measured <= estimated * 2, (measured, estimated)


@pytest.mark.parametrize("name", ["containment", "embedding", "alignment"])
def test_null_queries_never_match_their_own_document(name):
    """A null query is its document's opening: scored against the corpus minus that document,
    where the same text as a benchmark item finds its copy."""
    texts = load_corpus("gsm8k:train").texts[:40]
    null = NullSample(rows=np.array([3, 17]), texts=[texts[3], texts[17]], seed=0)
    null.remember({3: texts[3], 17: texts[17]})
    probe = build_probes([name])[0]
    [out] = run_probes(corpus(texts), corpus([texts[3], texts[17]]), [probe],
                       context=FitContext(null=null), batch_size=8)  # fmt: skip
    assert [item.score for item in out.items] == pytest.approx([1.0, 1.0], abs=1e-3)
    assert len(out.null) == 2 and (out.null < 0.95).all()
    assert not null.duplicated.any()


@pytest.mark.parametrize("processes", [1, 2])
def test_a_null_document_with_a_copy_in_the_corpus_is_marked_duplicated(processes):
    """The duplicate check runs on the pass's workers (threads, or forked processes): a sampled
    document whose normalised text occurs again (other case and spacing) is marked, one that
    occurs once is not, and the copy's own query is marked too."""
    texts = load_corpus("gsm8k:train").texts[:40]
    texts[30] = "  " + texts[3].upper().replace(" ", "  ") + " "
    null = NullSample(rows=np.array([3, 17, 30]), texts=[texts[3], texts[17], texts[30]], seed=0)
    null.remember({3: texts[3], 17: texts[17], 30: texts[30]})
    run_probes(corpus(texts), corpus(texts[:2]), build_probes(["containment"]),
               context=FitContext(null=null), batch_size=8, processes=processes)  # fmt: skip
    assert null.duplicated.tolist() == [True, False, True]


def test_a_shared_ngram_below_every_threshold_is_shown_as_partial_overlap():
    """GPT-3's criterion (any shared 13-gram) is evidence worth reading even when the item is
    not flagged: the report keeps its text and the renderers list it."""
    from auditor.render.sections import overlap_sections

    train = load_corpus("gsm8k:train").texts[:300]
    shared = " ".join(train[5].split()[:13])
    item = f"Unrelated opening words about a garden party. {shared} and then what happened?"
    bench = load_corpus("gsm8k:test").texts[:30] + [item]
    report = run_overlap(corpus(train, "train"), corpus(bench, "bench"), fpr=0.01)
    partial = report.items[-1]
    assert not partial.flagged and 0 < partial.probes["ngram"].score < 0.8
    assert partial.text and partial.probes["ngram"].match.train_text
    tables = [block for block in overlap_sections(report)[0].blocks if hasattr(block, "title")]
    assert any("Partial overlap" in table.title and len(table.rows) == 1 for table in tables)
