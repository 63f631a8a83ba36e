"""Windows of training documents, so a benchmark item buried in a long document is compared
with the part of the document that holds it, not with the whole.

A leaked item in SFT data sits before its worked solution or inside a chat transcript; embedding
the whole document dilutes the item with everything around it. The embedding probe therefore
embeds each training document as overlapping windows of words and keeps, per benchmark item,
the best window:

- the width comes from the benchmark's own lengths: the smallest of `LADDER` at or above the
  75th-percentile item length in words (a fixed ladder, so `audit index build --window` can
  precompute the same windows for every benchmark of similar length);
- a document of at most 1.5 widths is one window (itself), so corpora of short items cost
  nothing extra and share the whole-document embeddings;
- longer documents get windows of `width` words every `width / 2` words (each item-sized span
  lies mostly inside one window), at most `max_windows` per document, so the cost stays bounded
  for very long documents: past `max_windows * width / 2` words the stride grows, and past
  `max_windows * width` words the evenly spread windows leave gaps (the embedding probe counts
  such documents in its `info`; raise `max_windows` to close them). `benchmarks/windows.py`
  measures windows per document and the cost against whole-document embedding;
- with `skeleton`, each window is embedded as its skeleton (`auditor.skeleton`: numbers and
  names replaced by placeholders).
"""

import math
from dataclasses import dataclass

import numpy as np

from auditor.skeleton import skeleton

LADDER = (16, 32, 64, 128, 256)
"""Window widths in words."""


def auto_width(lengths: np.ndarray) -> int:
    """The ladder width for items of these word lengths (75th percentile, rounded up)."""
    lengths = lengths[lengths > 0]
    if not len(lengths):
        return LADDER[0]
    target = float(np.percentile(lengths, 75))
    return next((width for width in LADDER if width >= target), LADDER[-1])


@dataclass(frozen=True)
class Windowing:
    width: int
    max_windows: int = 32
    skeleton: bool = False

    @property
    def key(self) -> str:
        """Cache variant name: the embeddings of these windows differ from the documents'."""
        return f"w{self.width}x{self.max_windows}" + ("-skeleton" if self.skeleton else "")

    def leaves_gaps(self, n_words: int) -> bool:
        """A document this long is longer than its capped windows can tile."""
        return n_words > self.max_windows * self.width

    def spans(self, n_words: int) -> list[tuple[int, int]]:
        """(start, end) word ranges of a document of `n_words` words."""
        if n_words <= self.width * 1.5:
            return [(0, n_words)]
        last = n_words - self.width
        stride = max(self.width // 2, math.ceil(last / (self.max_windows - 1)))
        starts = list(range(0, last, stride)) + [last]
        return [(start, start + self.width) for start in starts]

    def split(self, texts: list[str]) -> tuple[list[str], np.ndarray]:
        """Window texts of `texts` (raw words, joined by spaces) and each window's document."""
        windows: list[str] = []
        owner: list[int] = []
        for row, text in enumerate(texts):
            words = text.split()
            spans = self.spans(len(words))
            if len(spans) == 1:
                windows.append(text)
            else:
                windows.extend(" ".join(words[start:end]) for start, end in spans)
            owner.extend([row] * len(spans))
        return windows, np.asarray(owner, dtype=np.int64)

    def encoded_text(self, window: str) -> str:
        """What the encoder reads for a window."""
        return skeleton(window) if self.skeleton else window

    def whole(self, texts: list[str]) -> bool:
        """Every document is its own single window and nothing is rewritten: the windows'
        embeddings are the documents' (shared with the other embedding probes)."""
        return not self.skeleton and all(len(text.split()) <= self.width * 1.5 for text in texts)
