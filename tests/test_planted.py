"""Planted contamination on real data, with answers known by construction.

Benchmark: 100 GSM8K test questions. Training corpus: 1,500 GSM8K training questions plus, for
benchmark items 0-49, planted copies: verbatim (0-9), with case/whitespace/punctuation changed
(10-19), embedded inside a longer training document (20-29), with every number changed (30-39),
with one number changed (30-34) or every number changed (35-39, as GSM-Hard does), and with every
common word swapped for a near-synonym (40-49: 2-29% of the words). Items 50-99 are not planted.
"""

import re

import pytest

from auditor.loading import load_corpus
from auditor.normalize import normalize, tokenize
from auditor.overlap import run_overlap
from probes import build_probes, probes_of_kind
from tests.helpers import corpus

VERBATIM, FORMAT, EMBEDDED, NUMBERS, WORDS = (range(k, k + 10) for k in range(0, 50, 10))
CLEAN = range(50, 100)


def reformat(text: str) -> str:
    return "  ".join(text.upper().replace("?", " ?!").replace(",", " ;").split())


def change_numbers(text: str, count: int = 0) -> str:
    return re.sub(r"\d+", lambda m: str(int(m.group()) + 7), text, count=count)


SYNONYMS = {
    "buys": "purchases", "bought": "purchased", "buy": "purchase", "has": "owns", "have": "own",
    "each": "every", "total": "overall", "makes": "earns", "sells": "sold", "gets": "receives",
    "needs": "requires", "wants": "wishes", "spent": "paid", "days": "mornings", "day": "morning",
    "week": "weekend", "money": "cash", "friends": "pals", "store": "shop", "car": "vehicle",
    "many": "much", "much": "many", "costs": "is priced at", "cost": "price", "if": "when",
    "and": "plus", "is": "was", "are": "were", "will": "would", "she": "her", "he": "him",
}  # fmt: skip


def substitute_words(text: str) -> str:
    return re.sub(r"\b[a-z]+\b", lambda m: SYNONYMS.get(m.group(), m.group()), text)


@pytest.fixture(scope="module")
def planted():
    bench_all = load_corpus("gsm8k:test")
    train_all = load_corpus("gsm8k:train")
    bench = bench_all.texts[:100]
    train = train_all.texts[:1500]
    planted = []
    for i in VERBATIM:
        planted.append(bench[i])
    for i in FORMAT:
        planted.append(reformat(bench[i]))
    for i in EMBEDDED:
        before, after = train_all.texts[2000 + i], train_all.dataset[2000 + i]["answer"]
        planted.append(f"{before} {bench[i]} {after}")
    for i in NUMBERS:
        planted.append(change_numbers(bench[i], count=1 if i < 35 else 0))
    for i in WORDS:
        planted.append(substitute_words(bench[i]))
    train_texts = train[:700] + planted + train[700:]
    bench_corpus, train_corpus = corpus(bench, "bench"), corpus(train_texts, "train")
    # fixed thresholds (--fpr 0): this checks each probe's mechanics at its documented default;
    # the calibrated verdict is tested in test_calibration.py and test_rewrite_recall.py
    # (the embedding probe on raw text, where its fixed 0.88 was measured)
    probes = build_probes(probes_of_kind("overlap"), {"embedding": {"skeleton": False}})
    report = run_overlap(train_corpus, bench_corpus, probes, fpr=0)
    return bench, train_texts, report


def flagged(report, probe: str) -> set[int]:
    return {item.index for item in report.items if item.probes[probe].flagged}


def test_exact(planted) -> None:
    bench, _, report = planted
    assert flagged(report, "exact") == set(VERBATIM) | set(FORMAT) | set(EMBEDDED)
    for i in EMBEDDED:
        match = report.items[i].probes["exact"].match
        assert match.train_index == 700 + i
        assert match.span == normalize(bench[i])


def test_ngram(planted) -> None:
    _, _, report = planted
    found = flagged(report, "ngram")
    assert set(VERBATIM) | set(FORMAT) | set(EMBEDDED) <= found
    assert not found & set(CLEAN)
    assert report.probes["ngram"].info["n"] == 13


def test_minhash(planted) -> None:
    _, _, report = planted
    found = flagged(report, "minhash")
    assert set(VERBATIM) | set(FORMAT) <= found
    assert set(range(30, 35)) <= found  # one number changed: Jaccard stays high
    assert not found & set(CLEAN)


def test_embedding(planted) -> None:
    _, _, report = planted
    found = flagged(report, "embedding")
    assert set(VERBATIM) | set(FORMAT) <= found
    assert set(NUMBERS) <= found
    assert set(WORDS) <= found
    assert not found & set(CLEAN)


def test_union_and_evidence(planted) -> None:
    _, _, report = planted
    assert report.summary.flagged == sum(item.flagged for item in report.items)
    for item in report.items[:40]:
        assert item.flagged
        best = max(item.probes.values(), key=lambda p: p.score)
        assert best.match.train_index == 700 + item.index


def test_exact_agrees_with_a_plain_python_oracle() -> None:
    """TREC test vs train: equality and word-aligned containment by brute force."""
    bench, train = load_corpus("trec:test"), load_corpus("trec:train")
    report = run_overlap(train, bench, build_probes(["exact"]))
    train_norm = [f" {normalize(t)} " for t in train.texts]
    expected = set()
    for i, text in enumerate(bench.texts):
        words = tokenize(text)
        needle = f" {' '.join(words)} "
        if any(needle == t for t in train_norm) or (
            len(words) >= 4 and any(needle in t for t in train_norm)
        ):
            expected.add(i)
    assert flagged(report, "exact") == expected
    assert len(expected) >= 10  # TREC's train and test splits share real duplicates


def test_ngram_coverage_agrees_with_a_plain_python_oracle() -> None:
    bench = load_corpus("gsm8k:test").texts[:150]
    train = load_corpus("gsm8k:train").texts[:3000]
    report = run_overlap(corpus(train), corpus(bench), build_probes(["ngram"]))
    n = report.probes["ngram"].info["n"]
    train_grams = set()
    for text in train:
        words = tokenize(text)
        train_grams.update(tuple(words[s : s + n]) for s in range(len(words) - n + 1))
    for i, text in enumerate(bench):
        words = tokenize(text)
        covered = [False] * len(words)
        for s in range(len(words) - n + 1):
            if tuple(words[s : s + n]) in train_grams:
                covered[s : s + n] = [True] * n
        expected = sum(covered) / len(words)
        assert report.items[i].probes["ngram"].score == pytest.approx(expected)


def test_unrelated_corpus_gives_no_flags() -> None:
    bench = load_corpus("gsm8k:test").texts[:200]
    train = load_corpus("sst2:train").texts[:2000]
    report = run_overlap(corpus(train), corpus(bench))
    assert report.summary.flagged == 0


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7, 0.9])
def test_lsh_banding_never_costs_recall_at_the_threshold(threshold: float) -> None:
    """A pair at the flag threshold becomes a candidate with probability >= 0.99, with the
    most rows per band that allow it (fewest false candidates)."""
    from probes.minhash import lsh_bands

    bands, rows = lsh_bands(threshold, 128)
    assert 1 - (1 - threshold**rows) ** bands >= 0.99
    more = 128 // (rows + 1)
    assert 1 - (1 - threshold ** (rows + 1)) ** more < 0.99


def test_worker_processes_give_the_results_of_threads(monkeypatch) -> None:
    """The text probes run on forked worker processes when every probe of the pass allows it;
    the per-item results must be those of the thread pool, whatever the batching."""
    from auditor import scan
    from auditor.scan import run_probes

    pools: list[int] = []

    class Recording(scan.ProcessPoolExecutor):
        def __init__(self, workers, **options) -> None:
            pools.append(workers)
            super().__init__(workers, **options)

    monkeypatch.setattr(scan, "ProcessPoolExecutor", Recording)

    train = load_corpus("gsm8k:train")
    bench = corpus(load_corpus("gsm8k:test").texts[:200] + train.texts[:20], "bench")
    names = ["exact", "ngram", "minhash", "containment", "lexical"]
    threads = run_probes(train, bench, build_probes(names), batch_size=700, processes=1)
    processes = run_probes(train, bench, build_probes(names), batch_size=300, processes=2)
    assert pools == [1]  # the second pass did run on processes: a forked worker beside this one
    assert repr(threads) == repr(processes)
    assert sum(item.flagged for item in threads[0].items) >= 20  # the planted copies
