"""The cost of window-level embedding against whole-document embedding.

Corpus: a seeded sample of 2,000 documents of the 14.5M-word scan corpus (`benchmarks.common`:
GSM8K training question + solution, sentences shuffled; embedding all 150k documents on two
cores would take hours, and the cost per document is what the ratio needs). Windows sized for
the GSM8K test questions (`probes.windows.auto_width`: 64 words), as the embedding probe's
default makes them. Prints windows per document and encoding throughput of whole documents
(the baseline: what the embedding probe embedded before windows) vs windows, as a ratio, and
the same ratio for the skeleton text the probe embeds by default.

    python -m benchmarks.windows
"""

import random

import numpy as np

from auditor.embeddings import Encoder
from auditor.loading import load_corpus
from benchmarks.common import best_of, gsm8k_scan_corpus
from probes.windows import Windowing, auto_width

SAMPLE = 2000


def main() -> None:
    corpus = gsm8k_scan_corpus()
    words = sum(len(doc.split()) for doc in corpus)
    documents = random.Random(0).sample(corpus, SAMPLE)
    lengths = np.array([len(text.split()) for text in load_corpus("gsm8k:test").texts])
    width = auto_width(lengths)
    encoder = Encoder("minilm")
    encoder.encode(documents[:64])  # load the model outside the timing
    whole_s, _ = best_of(1, lambda: encoder.encode(documents))
    print(f"corpus: {len(corpus):,} documents, {words / 1e6:.1f}M words; sample {SAMPLE:,}; "
          f"window {width} words")  # fmt: skip
    print(f"whole documents (baseline): {SAMPLE / whole_s:7.0f} documents/s")
    for skeleton in (False, True):
        windowing = Windowing(width, skeleton=skeleton)
        windows, _ = windowing.split(documents)
        texts = [windowing.encoded_text(window) for window in windows]
        windows_s, _ = best_of(1, lambda texts=texts: encoder.encode(texts))
        label = "windows, skeleton text" if skeleton else "windows, raw text     "
        print(f"{label}    : {SAMPLE / windows_s:7.0f} documents/s, "
              f"{len(windows) / SAMPLE:.2f} windows/document, cost {windows_s / whole_s:.2f}x "
              "the baseline; whole corpus at this rate: "
              f"{len(corpus) / SAMPLE * windows_s / 60:.0f} min")  # fmt: skip


if __name__ == "__main__":
    main()
