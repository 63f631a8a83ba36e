"""The whole-corpus kNN search (`auditor.knn`): the IVF index's recall and speed against exact.

1. Real embeddings: MiniLM vectors of GSM8K, SST-2 and TREC training texts (about 20k) cached as
   `audit index build` caches them; the IVF index forced on them (it is chosen above 200k):
   recall@10 against the exact search for corpus members (what `index.json` records, and what
   the typicality probe's reference sample searches) and for the GSM8K test questions (benchmark
   items: searched exactly by the probe; shown to say why).
2. Scale: `--documents` vectors (default 1M) made from those by adding small noise (as
   `benchmarks/embeddings.py` does), the IVF index's build time, nprobe, recall, and the search
   throughput of 10,000 member queries through the index vs the exact streamed search, the named
   baseline, in the same process.

    python -m benchmarks.knn [--documents 1000000] [--json PATH]
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from auditor.cache import save_array
from auditor.embeddings import Encoder
from auditor.knn import build_knn
from auditor.loading import load_corpus

BATCH = 8192


def cached(folder: Path, vectors: np.ndarray) -> None:
    for start in range(0, len(vectors), BATCH):
        save_array(folder / f"{start}-{len(vectors[start : start + BATCH])}.npy",
                   vectors[start : start + BATCH])  # fmt: skip


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth, strict=True)]))


def others(found: np.ndarray, own: np.ndarray) -> list[list[int]]:
    """Each member query's 10 nearest other than itself."""
    return [[r for r in row if r != mine][:10] for row, mine in zip(found.tolist(), own.tolist(),
                                                                    strict=True)]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    encoder = Encoder("minilm")
    texts = [t for name in ("gsm8k:train", "sst2:train", "trec:train")
             for t in load_corpus(name).texts]  # fmt: skip
    base = encoder.encode(texts)
    questions = encoder.encode(load_corpus("gsm8k:test").texts)
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        real = Path(folder) / "real"
        cached(real, base)
        index = build_knn(real, len(base), base.shape[1], BATCH, exact_max=0)
        truth = index.search_exact(questions, 10)[1]
        on_questions = recall(index.search(questions, 10)[1], truth)
        results["real"] = {**index.to_dict(), "benchmark_recall_at_10": on_questions}
        print(f"real: {len(base):,} MiniLM vectors, IVF nlist {index.nlist} nprobe "
              f"{index.nprobe}: recall@10 {index.recall_at_10:.3f} for corpus members, "
              f"{on_questions:.3f} for GSM8K test questions")  # fmt: skip

        rng = np.random.default_rng(0)
        scaled = Path(folder) / "scaled"
        for start in range(0, args.documents, BATCH):
            rows = np.arange(start, min(start + BATCH, args.documents)) % len(base)
            noisy = base[rows] + rng.normal(0, 0.02, (len(rows), base.shape[1]))
            noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
            save_array(scaled / f"{start}-{len(rows)}.npy", noisy.astype(np.float32))
        began = time.perf_counter()
        index = build_knn(scaled, args.documents, base.shape[1], BATCH, exact_max=0)
        build_s = time.perf_counter() - began
        members = np.sort(rng.choice(args.documents, 10_000, replace=False))
        queries = index.embeddings_of(members)
        began = time.perf_counter()
        approximate = index.search(queries, 11)[1]
        ivf_s = time.perf_counter() - began
        began = time.perf_counter()
        exact = index.search_exact(queries, 11)[1]
        exact_s = time.perf_counter() - began
        members_recall = recall(others(approximate, members), others(exact, members))
        results["scaled"] = {
            **index.to_dict(), "build_seconds": build_s, "ivf_queries_per_s": 10_000 / ivf_s,
            "exact_queries_per_s": 10_000 / exact_s, "speedup": exact_s / ivf_s,
            "recall_at_10_10k_members": members_recall,
        }  # fmt: skip
        print(f"scaled: {args.documents:,} vectors, IVF nlist {index.nlist} nprobe "
              f"{index.nprobe}, built in {build_s:.0f} s; 10,000 member queries: IVF "
              f"{ivf_s:.1f} s vs exact {exact_s:.1f} s ({exact_s / ivf_s:.0f}x), recall@10 "
              f"{members_recall:.3f}")  # fmt: skip
    if args.json:
        results["scaled"].pop("folder")
        results["real"].pop("folder")
        args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
