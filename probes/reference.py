"""`reference`: the model's log-likelihood of the item minus a reference model's (Carlini et al.
2021's reference-model attack).

The reference is a model that did not see the benchmark: `--reference`, else in `audit run` the
pretrained control (the base fine-tuned on the declared training data) or `--base`. Item
difficulty moves both models alike and cancels in the difference; what is left is how much
better the audited model knows this item than a model trained without it. Log-likelihoods are
summed per item and divided by its UTF-8 bytes, so models with different tokenizers compare.
Higher = more likely seen.
"""

from typing import ClassVar

from probes.membership import ModelProbe, TokenStats


class ReferenceProbe(ModelProbe):
    name: ClassVar[str] = "reference"
    requires: ClassVar[frozenset[str]] = frozenset({"model", "reference"})
    subtracts_reference: ClassVar[bool] = True
    score_means: ClassVar[str] = (
        "log-likelihood per byte minus the reference model's on the same item"
    )

    def item_score(self, stats: TokenStats) -> float:
        return float(stats.logp.sum()) / stats.nbytes
