"""Shared corpus builders and timing for the benchmark scripts (run with `make bench`)."""

import random
import re
import time
from collections.abc import Callable
from contextlib import contextmanager

from auditor.loading import load_corpus

_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n")


def gsm8k_scan_corpus(repeats: int = 20, seed: int = 0) -> list[str]:
    """GSM8K train question + answer, repeated with shuffled sentence order (~14.5M words)."""
    train = load_corpus("gsm8k:train")
    docs = [f"{q}\n{a}" for q, a in zip(train.texts, train.dataset["answer"], strict=True)]
    rng = random.Random(seed)
    corpus = []
    for _ in range(repeats):
        for doc in docs:
            sentences = [s for s in _SENTENCE.split(doc) if s]
            rng.shuffle(sentences)
            corpus.append(" ".join(sentences))
    return corpus


@contextmanager
def timed(into: dict, key: str):
    start = time.perf_counter()
    yield
    into[key] = time.perf_counter() - start


def best_of(runs: int, function: Callable[[], object]) -> tuple[float, object]:
    """Fastest wall time of `runs` calls (the machine is shared and noisy) and the last result."""
    best, result = float("inf"), None
    for _ in range(runs):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result
