"""Embedding throughput and neighbour search.

1. Encoding: audit's `Encoder` (length-sorted batches, bfloat16 autocast where the CPU has native
   bf16) vs sentence-transformers `encode` with the same MiniLM weights and thread count, on the
   6,920 SST-2 training sentences; cosine of each embedding to sentence-transformers' fp32 one.
2. Search: the embedding probe's streamed torch matmul + top-k (`probes.neighbours`) vs faiss
   (IndexFlatIP per training batch + ResultHeap), 1,319 GSM8K test queries against ~115k
   training vectors, and whether they agree on every query's nearest neighbour.
"""

import faiss
import numpy as np
import torch
from sentence_transformers import SentenceTransformer

from auditor.embeddings import Encoder
from auditor.loading import load_corpus
from auditor.models import resolve_model
from benchmarks.common import best_of
from probes.neighbours import StreamingTopK

K, BATCH = 5, 2048


def faiss_search(queries: np.ndarray, corpus: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    heap = faiss.ResultHeap(len(queries), K, keep_max=True)
    for start in range(0, len(corpus), BATCH):
        index = faiss.IndexFlatIP(corpus.shape[1])
        index.add(corpus[start : start + BATCH])
        similarity, rows = index.search(queries, K)
        heap.add_result(similarity, rows + start)
    heap.finalize()
    return heap.D, heap.I


def audit_search(queries: np.ndarray, corpus: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    neighbours = StreamingTopK(queries, K)
    for start in range(0, len(corpus), BATCH):
        neighbours.add(corpus[start : start + BATCH], start)
    return neighbours.result()


def main() -> None:
    texts = load_corpus("sst2:train").texts
    print(f"torch threads: {torch.get_num_threads()}; texts: {len(texts):,} SST-2 sentences")
    reference_model = SentenceTransformer(resolve_model("minilm"), device="cpu")
    st_s, reference = best_of(1, lambda: reference_model.encode(texts, batch_size=32))
    print(f"sentence-transformers encode (fp32)   : {len(texts) / st_s:7.0f} sentences/s")
    for precision in ("fp32", "bf16"):
        encoder = Encoder("minilm", precision=precision)
        encoder.encode(texts[:64])  # load the model outside the timing
        ours_s, ours = best_of(1, lambda enc=encoder: enc.encode(texts))
        cosine = (ours * reference).sum(axis=1) / np.linalg.norm(reference, axis=1)
        speed = len(texts) / ours_s
        print(f"audit Encoder ({precision})                 : {speed:7.0f} sentences/s, "
              f"{st_s / ours_s:4.1f}x; cosine to reference min {cosine.min():.5f} "
              f"mean {cosine.mean():.6f}")  # fmt: skip

    encoder = Encoder("minilm")
    queries = encoder.encode(load_corpus("gsm8k:test").texts)
    base = np.concatenate((encoder.encode(load_corpus("gsm8k:train").texts), ours))
    rng = np.random.default_rng(0)
    corpus = np.concatenate([base] + [base + rng.normal(0, 0.02, base.shape).astype(np.float32)
                                      for _ in range(7)])  # fmt: skip
    corpus /= np.linalg.norm(corpus, axis=1, keepdims=True)
    faiss_s, (fd, fi) = best_of(3, lambda: faiss_search(queries, corpus))
    torch_s, (td, ti) = best_of(3, lambda: audit_search(queries, corpus))
    print(f"search {len(queries):,} x {len(corpus):,}: faiss {faiss_s:.2f} s, audit (torch) "
          f"{torch_s:.2f} s, ratio {faiss_s / torch_s:.1f}x; same nearest neighbour for "
          f"{(fi[:, 0] == ti[:, 0]).mean():.1%} of queries, max |sim diff| "
          f"{np.abs(fd[:, 0] - td[:, 0]).max():.2e}")  # fmt: skip


if __name__ == "__main__":
    main()
