"""MinHash near-duplicate search: audit's minhash probe vs datasketch (MinHash.bulk + MinHashLSH).

Corpus: GSM8K train question + answer, 5 shuffled-sentence repeats (~3.6M words), plus 100 GSM8K
test questions planted as near-duplicates (50 verbatim, 50 with one number changed); benchmark:
the 1,319 GSM8K test questions. Both sides use the same word 5-gram shingles of the normalised
text, 128 permutations and threshold 0.5. datasketch's time is reported without the Python
shingling it needs (its own input format), so the ratio is conservative.
"""

import re

import numpy as np
from datasketch import MinHash, MinHashLSH

from auditor.loading import load_corpus
from auditor.normalize import tokenize
from auditor.overlap import run_overlap
from benchmarks.common import best_of, gsm8k_scan_corpus
from probes.minhash import MinHashProbe
from tests.helpers import corpus as make_corpus

THRESHOLD, PERMS, SHINGLE = 0.5, 128, 5


def shingles(text: str) -> list[bytes]:
    words = tokenize(text)
    if len(words) < SHINGLE:
        return [" ".join(words).encode()] if words else []
    return [" ".join(words[i : i + SHINGLE]).encode() for i in range(len(words) - SHINGLE + 1)]


def datasketch_scan(bench_sh: list[list[bytes]], train_sh: list[list[bytes]]) -> dict[int, float]:
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=PERMS)
    bench_mh = MinHash.bulk(bench_sh, num_perm=PERMS)
    for index, signature in enumerate(bench_mh):
        lsh.insert(index, signature)
    best: dict[int, float] = {}
    for signature in MinHash.bulk(train_sh, num_perm=PERMS):
        for index in lsh.query(signature):
            jaccard = signature.jaccard(bench_mh[index])
            if jaccard >= THRESHOLD:
                best[index] = max(best.get(index, 0.0), jaccard)
    return best


def audit_scan(bench, train) -> dict[int, float]:
    report = run_overlap(train, bench, [MinHashProbe(threshold=THRESHOLD, num_perm=PERMS)])
    return {i.index: i.probes["minhash"].score for i in report.items if i.probes["minhash"].flagged}


def main() -> None:
    bench_texts = load_corpus("gsm8k:test").texts
    train_texts = gsm8k_scan_corpus(repeats=5)
    one_number = [
        re.sub(r"\d+", lambda m: str(int(m.group()) + 3), t, count=1) for t in bench_texts[50:100]
    ]
    train_texts += bench_texts[:50] + one_number
    words = sum(len(text.split()) for text in train_texts)
    bench, train = make_corpus(bench_texts, "bench"), make_corpus(train_texts, "train")
    _ = train.fingerprint  # hashed once outside the timing, as a cached corpus would be
    ours_s, ours = best_of(2, lambda: audit_scan(bench, train))
    bench_sh = [shingles(t) for t in bench_texts]
    train_sh = [shingles(t) for t in train_texts]
    base_s, base = best_of(1, lambda: datasketch_scan(bench_sh, train_sh))
    print(f"corpus: {len(train_texts):,} documents, {words / 1e6:.1f}M words; bench 1,319 items")
    docs = len(train_texts)
    print(f"datasketch bulk + LSH (pre-shingled): {docs / base_s:9,.0f} docs/s ({base_s:.1f} s)")
    print(f"audit minhash probe (from raw text) : {docs / ours_s:9,.0f} docs/s ({ours_s:.1f} s)")
    print(f"ratio                               : {base_s / ours_s:9.1f}x")
    both = set(ours) & set(base)
    print(f"flagged: audit {len(ours)}, datasketch {len(base)}, both {len(both)}; "
          f"planted found by audit {len(set(ours) & set(range(100)))}/100, "
          f"by datasketch {len(set(base) & set(range(100)))}/100")  # fmt: skip
    gap = [abs(ours[i] - base[i]) for i in both]
    print(f"Jaccard estimates on items both flag: mean |difference| {np.mean(gap):.3f}")


if __name__ == "__main__":
    main()
