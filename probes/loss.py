"""`loss`: the mean token log-likelihood of the item (Yeom et al. 2018's loss attack).

Higher = the model finds the item easier to predict, as it finds text it was trained on. Item
difficulty moves it as much as membership does, so alone it is a weak signal on in-distribution
data; the `reference` probe subtracts a reference model's to cancel difficulty.
"""

from typing import ClassVar

from probes.membership import ModelProbe, TokenStats


class LossProbe(ModelProbe):
    name: ClassVar[str] = "loss"
    score_means: ClassVar[str] = "mean token log-likelihood"

    def item_score(self, stats: TokenStats) -> float:
        return float(stats.logp.mean())
