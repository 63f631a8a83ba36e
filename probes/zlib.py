"""`zlib`: log-likelihood over the zlib-compressed length (Carlini et al. 2021).

The item's total log-likelihood divided by the bytes zlib compresses it to: text that is easy to
predict only because it is repetitive compresses well too, so the ratio favours items the model
predicts better than their redundancy explains. Higher = more likely seen.
"""

import zlib
from typing import ClassVar

from probes.membership import ModelProbe, TokenStats


class ZlibProbe(ModelProbe):
    name: ClassVar[str] = "zlib"
    score_means: ClassVar[str] = "total log-likelihood / zlib-compressed bytes"

    def item_score(self, stats: TokenStats) -> float:
        return float(stats.logp.sum()) / len(zlib.compress(stats.text.encode("utf-8")))
