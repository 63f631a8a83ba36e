"""`minkpp`: Min-K%++ (Zhang et al. 2024): Min-K% on token log-probabilities standardised by
the model's own next-token distribution.

Each token's log p(x_t) becomes (log p(x_t) - mu_t) / sigma_t, with mu_t and sigma_t the mean and
standard deviation of log p(v) over the vocabulary v at that position under the model itself:
training on a text makes its tokens local maxima of the likelihood, which this measures whatever
the position's entropy. The score is the mean of the lowest `k` share. Higher = more likely seen.
"""

from typing import ClassVar

import numpy as np

from probes.membership import ModelProbe, TokenStats, lowest_mean

EPSILON = 1e-6
"""Added to sigma: a position where the model is certain has sigma 0."""


class MinKPlusPlusProbe(ModelProbe):
    name: ClassVar[str] = "minkpp"
    score_means: ClassVar[str] = (
        "mean of the lowest k share of (log p(token) - mu) / sigma, mu and sigma from the "
        "model's next-token distribution"
    )
    bounds: ClassVar[dict] = {**ModelProbe.bounds, "k": (0.01, 1.0)}

    def __init__(self, *, k: float = 0.2, max_length: int = 256) -> None:
        super().__init__(max_length=max_length)
        self.k = k

    def item_score(self, stats: TokenStats) -> float:
        standardised = (stats.logp - stats.mu) / (stats.sigma + EPSILON)
        return lowest_mean(np.asarray(standardised), self.k)
