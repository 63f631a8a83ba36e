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
- a longer document is cut along its own lines first: consecutive lines are packed into one
  window while they fit in `width` words, so a question on its own line (before its solution,
  as a chat turn) is a window of its own rather than a window half filled with the solution
  (measured on planted GSM8K rewrites: 2-6 points more recall than word windows, with fewer
  windows); a line longer than 1.5 widths gets windows of `width` words every `width / 2` words
  (each item-sized span lies mostly inside one window);
- at most `max_windows` per document, so the cost stays bounded for very long documents: past
  that, windows of `width` words are spread evenly over the whole document (past
  `max_windows * width` words they leave gaps; the embedding probe counts such documents in its
  `info`; raise `max_windows` to close them). `benchmarks/windows.py` measures windows per
  document and the cost against whole-document embedding;
- with `skeleton`, each window is embedded as its skeleton (`auditor.skeleton`: numbers and
  names replaced by placeholders).
"""

import math
from dataclasses import dataclass

import numpy as np

from auditor.skeleton import skeleton, skeleton_key

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
    names: bool = True
    """With `skeleton`: replace names too (`auditor.skeleton.names_are_incidental`)."""

    @property
    def key(self) -> str:
        """Cache variant name: the embeddings of these windows differ from the documents'."""
        text = f"-{skeleton_key(self.names)}" if self.skeleton else ""
        return f"lines-w{self.width}x{self.max_windows}{text}"

    def leaves_gaps(self, n_words: int) -> bool:
        """A document this long is longer than its capped windows can tile."""
        return n_words > self.max_windows * self.width

    def spans(self, n_words: int) -> list[tuple[int, int]]:
        """(start, end) word ranges of `width`-word windows over `n_words` words, every half
        width, at most `max_windows` (then spread evenly)."""
        if n_words <= self.width * 1.5:
            return [(0, n_words)]
        last = n_words - self.width
        stride = max(self.width // 2, math.ceil(last / (self.max_windows - 1)))
        starts = list(range(0, last, stride)) + [last]
        return [(start, start + self.width) for start in starts]

    def windows_of(self, text: str) -> list[str]:
        """One document's windows (raw words joined by spaces; the text itself when short)."""
        words = text.split()
        if len(words) <= self.width * 1.5:
            return [text]
        windows: list[list[str]] = []
        packed: list[str] = []
        for line in text.split("\n"):
            line_words = line.split()
            if len(line_words) > self.width * 1.5:
                windows += [packed] if packed else []
                packed = []
                windows += [line_words[a:b] for a, b in self.spans(len(line_words))]
                continue
            if packed and len(packed) + len(line_words) > self.width:
                windows.append(packed)
                packed = []
            packed.extend(line_words)
        windows += [packed] if packed else []
        if len(windows) > self.max_windows:
            windows = [words[a:b] for a, b in self.spans(len(words))]
        return [" ".join(window) for window in windows]

    def split(self, texts: list[str]) -> tuple[list[str], np.ndarray]:
        """Window texts of `texts` and each window's document."""
        windows: list[str] = []
        owner: list[int] = []
        for row, text in enumerate(texts):
            own = self.windows_of(text)
            windows.extend(own)
            owner.extend([row] * len(own))
        return windows, np.asarray(owner, dtype=np.int64)

    def encoded_text(self, window: str) -> str:
        """What the encoder reads for a window."""
        return skeleton(window, self.names) if self.skeleton else window

    def whole(self, texts: list[str]) -> bool:
        """Every document is its own single window and nothing is rewritten: the windows'
        embeddings are the documents' (shared with the other embedding probes)."""
        return not self.skeleton and all(len(text.split()) <= self.width * 1.5 for text in texts)
