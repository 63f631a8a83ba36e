"""n-gram scan throughput: audit's ngram probe vs lm-evaluation-harness's in-memory 13-gram path.

Corpus: GSM8K train question + answer repeated 20 times with shuffled sentence order (~14.5M
words); benchmark: the 1,319 GSM8K test questions. The baseline is what lm-eval's
`get_train_overlap` does with its Python janitor: `normalize_string` then `word_ngrams(text, 13)`
per document, looking each n-gram up in the benchmark's n-gram set. Both report which benchmark
items share at least one 13-gram with the corpus; the script prints both throughputs, the ratio,
and whether the two agree. Then the three text probes (exact, ngram, minhash) in one pass on
worker threads (`processes=1`, the baseline) and on forked worker processes (the default when
every probe of the pass is process-safe), with the ratio.
"""

import sys

from lm_eval.decontamination.janitor import Janitor, word_ngrams

from auditor.loading import load_corpus
from auditor.overlap import run_overlap
from auditor.scan import PROCESSES, run_probes
from benchmarks.common import best_of, gsm8k_scan_corpus
from probes.exact import ExactProbe
from probes.minhash import MinHashProbe
from probes.ngram import NgramProbe
from tests.helpers import corpus as make_corpus

N = 13


def lm_eval_scan(bench: list[str], train: list[str]) -> set[int]:
    janitor = Janitor(ngram_n=N)
    lookup: dict[str, set[int]] = {}
    for index, text in enumerate(bench):
        for gram in word_ngrams(janitor.normalize_string(text), N):
            lookup.setdefault(gram, set()).add(index)
    hit: set[int] = set()
    for text in train:
        for gram in word_ngrams(janitor.normalize_string(text), N):
            if gram in lookup:
                hit |= lookup[gram]
    return hit


def audit_scan(bench, train) -> set[int]:
    probe = NgramProbe(n=N, min_n=N)
    report = run_overlap(train, bench, [probe])
    return {item.index for item in report.items if item.probes["ngram"].match is not None}


def main() -> None:
    bench_texts = load_corpus("gsm8k:test").texts
    train_texts = gsm8k_scan_corpus()
    words = sum(len(text.split()) for text in train_texts)
    bench, train = make_corpus(bench_texts, "bench"), make_corpus(train_texts, "train")
    _ = train.fingerprint  # hashed once outside the timing, as a cached corpus would be
    ours_s, ours = best_of(3, lambda: audit_scan(bench, train))
    base_s, base = best_of(1, lambda: lm_eval_scan(bench_texts, train_texts))
    print(f"corpus: {len(train_texts):,} documents, {words / 1e6:.1f}M words; bench 1,319 items")
    print(f"lm-eval in-memory 13-gram path : {words / base_s / 1e6:6.2f}M words/s ({base_s:.1f} s)")
    print(f"audit ngram probe              : {words / ours_s / 1e6:6.2f}M words/s ({ours_s:.1f} s)")
    print(f"ratio                          : {base_s / ours_s:6.1f}x")
    only_ours, only_base = sorted(ours - base), sorted(base - ours)
    print(f"items with a 13-gram hit: audit {len(ours)}, lm-eval {len(base)}; "
          f"only audit {only_ours[:10]}, only lm-eval {only_base[:10]}")  # fmt: skip
    if only_base:
        sys.exit("disagreement: lm-eval found overlaps audit missed")

    def text_pass(processes: int) -> list:
        probes = [ExactProbe(), NgramProbe(), MinHashProbe()]
        return run_probes(train, bench, probes, processes=processes)

    threads_s, by_threads = best_of(2, lambda: text_pass(1))
    procs_s, by_processes = best_of(2, lambda: text_pass(PROCESSES))
    print(f"exact+ngram+minhash, threads   : {words / threads_s / 1e6:6.2f}M words/s")
    print(f"exact+ngram+minhash, {PROCESSES} processes: {words / procs_s / 1e6:6.2f}M words/s "
          f"({threads_s / procs_s:.2f}x)")  # fmt: skip
    if repr(by_threads) != repr(by_processes):
        sys.exit("disagreement: processes and threads gave different results")


if __name__ == "__main__":
    main()
