"""Rewritten leaks buried before their worked solutions: the default overlap audit finds them at
its calibrated false-positive rate, on several seeds (`benchmarks/rewrites.py` runs the full
size: 100 items per rewrite type among all 7,473 GSM8K training documents).

Here, per seed: 15 GSM8K test questions per rewrite type (numbers, names, synonyms, reorder,
and all four combined), each rewritten and followed by its own solution, planted among 1,200
GSM8K training documents; the other benchmark items (325 of the first 400 test questions) were
never planted.
"""

import numpy as np
import pytest

from auditor.loading import load_corpus
from auditor.overlap import run_overlap
from auditor.rewrites import REWRITES, plant_rewrites
from tests.helpers import corpus


@pytest.fixture(scope="module")
def gsm8k():
    test, train = load_corpus("gsm8k:test"), load_corpus("gsm8k:train")
    documents = [f"{q}\n{a}" for q, a in zip(train.texts, train.dataset["answer"], strict=True)]
    return test.texts[:400], list(test.dataset["answer"])[:400], documents[:1200]


@pytest.mark.parametrize("seed", [0, 1])
def test_rewritten_leaks_are_found_at_the_calibrated_rate(gsm8k, seed):
    questions, solutions, documents = gsm8k
    planted = plant_rewrites(questions, solutions, documents, per_type=15, seed=seed)
    report = run_overlap(corpus(planted.train, "train"), corpus(planted.bench, "bench"),
                         seed=seed)  # fmt: skip
    flagged = np.array([item.flagged for item in report.items])
    recall = {kind: flagged[planted.of_type(kind)].mean() for kind in REWRITES}
    assert recall["numbers"] == recall["names"] == 1.0, recall
    assert all(value >= 0.6 for value in recall.values()), recall
    assert flagged[list(planted.planted)].mean() >= 0.8, recall
    # a clean item flagged for the planted copy of its templated twin is not a false positive
    # of the corpus (GSM8K's test set holds such twins); the rest must stay near the 1% target:
    # at most 8 of 325, the 99th percentile of a binomial(325, 1%) (the full-size benchmark
    # measures 0.2-0.7% on 819 items)
    copies = set(planted.rows.values())
    false = [i for i in planted.clean if flagged[i] and not any(
        p.flagged and p.match and p.match.train_index in copies
        for p in report.items[i].probes.values())]  # fmt: skip
    assert len(false) <= 8, false
    # the evidence of a flagged rewrite is the planted document holding it
    for index in planted.of_type("combined"):
        item = report.items[index]
        if item.probes["embedding"].flagged:
            assert item.probes["embedding"].match.train_index == planted.rows[index]
