"""`skeleton`: the n-gram probe on the texts' skeletons, so an item whose numbers were re-drawn or
whose people were renamed still shares its n-grams with the leaked copy.

Both sides are read as skeletons (`auditor.skeleton`: every run of numbers becomes one
placeholder, every name another), then scored exactly as `ngram` scores text: coverage of the
item's words by n-grams found in training, n by GPT-3's rule, flagged at `dirty`. Reports show
its coverage beside `ngram`'s coverage on the text: a skeleton coverage far above the text
coverage is the signature of an edited copy (GSM-Hard-style number changes, renamed people).

Measured on GSM8K test questions vs GSM8K training documents (question + worked solution), no
copy planted: 0.3-0.4% of questions reach any skeleton 13-gram coverage, against 100% of the
items whose numbers or names alone were rewritten (`benchmarks/rewrites.py`). Its threshold is
calibrated (`calibrates`) on the null sample when `--fpr` is on; `dirty` applies otherwise.
"""

from typing import ClassVar

from auditor.skeleton import skeleton
from probes.base import TrainBatch
from probes.ngram import NgramProbe
from probes.tokens import TokenBatch


class SkeletonProbe(NgramProbe):
    name: ClassVar[str] = "skeleton"
    requires: ClassVar[frozenset[str]] = frozenset({"skeleton"})
    calibrates: ClassVar[bool] = True
    score_meaning: ClassVar[str] = (
        "fraction of the item's skeleton words (numbers and names as placeholders) covered by "
        "skeleton n-grams found in training"
    )

    def text_of(self, text: str) -> str:
        return skeleton(text)

    def batch_words(self, batch: TrainBatch) -> TokenBatch:
        return batch.skeleton_tokens
