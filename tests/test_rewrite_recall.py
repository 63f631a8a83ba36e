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
    assert flagged[planted.clean].mean() <= 0.015
    # the evidence of a flagged rewrite is the planted document holding it
    for index in planted.of_type("combined"):
        item = report.items[index]
        if item.probes["embedding"].flagged:
            match = item.probes["embedding"].match
            assert solutions[index].split("\n")[0] in planted.train[match.train_index]
