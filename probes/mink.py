"""`mink`: Min-K% Prob (Shi et al. 2023): the mean log-probability of the item's lowest `k`
share of tokens.

An unseen text has a few surprising tokens with very low probability; a seen one has fewer, so
the mean over the least likely tokens separates them better than the mean over all tokens.
Higher = more likely seen.
"""

from typing import ClassVar

from probes.membership import ModelProbe, TokenStats, lowest_mean


class MinKProbe(ModelProbe):
    name: ClassVar[str] = "mink"
    score_means: ClassVar[str] = "mean log-probability of the lowest k share of tokens"
    bounds: ClassVar[dict] = {**ModelProbe.bounds, "k": (0.01, 1.0)}

    def __init__(self, *, k: float = 0.2, max_length: int = 256) -> None:
        super().__init__(max_length=max_length)
        self.k = k

    def item_score(self, stats: TokenStats) -> float:
        return lowest_mean(stats.logp, self.k)
