"""`rewrite`: how much likelihood the model loses when an item is rewritten into a twin.

Each item gets `twins` rewritten twins by its task's rule (`Task.twin`: numbers re-drawn and
names swapped; multiple choice: the choices reordered), deterministic per seed. The item's score
is its mean token log-likelihood minus the mean over its twins: a model that memorised the item
loses far more on a twin than a model that learned the task. Items no rule changes (no numbers,
names or choices) are unscored (NaN).

Twins are also less natural than the originals, so a clean model loses something too, and two
clean models lose different amounts (measured: two tiny GPT-2s trained on the same data with
different seeds differ by 6% of their mean drop, which a plain paired test over 80 items calls
significant at p = 0.009). So the set-level test compares the audited model's per-item extra
drop over a reference model's with its own median: a memorised subset (fewer than half the
items) is a heavy upper tail, while a uniform difference between the models moves mean and median
alike. The statistic is the mean extra drop minus the median; its p-value is a one-sided
sign-flip permutation test of the median-centred differences (exact for a symmetric null).
A benchmark memorised nearly whole shows as a large `extra_drop` with no tail; the per-item flags
and the other probes read that case. Without a reference the test is skipped, never run against
zero.
"""

from typing import Any, ClassVar, Self

import numpy as np

from auditor.corpus import Corpus
from probes.base import FitContext, LoadedModel, SetTest
from probes.membership import (
    OTHER_TOKENS,
    ModelProbe,
    TokenStats,
    membership_texts,
    same_tokens,
    token_stats,
)

CHUNK = 1000
"""Permutations drawn at a time (bounds the sign matrix's memory)."""


class RewriteProbe(ModelProbe):
    name: ClassVar[str] = "rewrite"
    score_means: ClassVar[str] = (
        "mean token log-likelihood of the item minus the mean over its rewritten twins"
    )
    statistic_label: ClassVar[str] = "tail"
    bounds: ClassVar[dict] = {**ModelProbe.bounds, "twins": (1, 100), "permutations": (99, None)}

    def __init__(
        self, *, twins: int = 3, permutations: int = 10_000, seed: int = 0, max_length: int = 256
    ) -> None:
        super().__init__(max_length=max_length)
        self.twins = twins
        self.permutations = permutations
        self.seed = seed

    def item_score(self, stats: TokenStats) -> float:
        return float(stats.logp.mean())

    def _drops(self, model: LoadedModel, texts: list[str], twins: list[list[str]]) -> np.ndarray:
        own = self.scores_under(model, texts)
        flat = [twin for row in twins for twin in row]
        stats = token_stats(model, flat, self.max_length) if flat else []
        scores = iter(self.item_score(s) if len(s.logp) else np.nan for s in stats)
        drops = np.full(len(texts), np.nan)
        for index, row in enumerate(twins):
            values = [next(scores) for _ in row]
            if row:
                drops[index] = own[index] - float(np.mean(values))
        return drops

    def _twins(self, bench: Corpus, context: FitContext, texts: list[str]) -> list[list[str]]:
        """Each item's distinct twins that differ from it (none: the item is unscored)."""
        from auditor.rewrites import twin
        from auditor.tasks import TASKS

        task = TASKS.get(context.task) if context.task else None
        choices = bench.column("choices") or [None] * len(bench)
        rows = []
        for text, options, shown in zip(bench.texts, choices, texts, strict=True):
            made = [task.twin(text, options, self.seed + k) if task else twin(text, self.seed + k)
                    for k in range(self.twins)]  # fmt: skip
            rows.append(list(dict.fromkeys(t for t in made if t != shown)))
        return rows

    def fit(self, bench: Corpus, context: FitContext | None = None) -> Self:
        context = context or FitContext()
        texts = membership_texts(bench, context)
        twins = self._twins(bench, context, texts)
        self.scores_ = self._drops(context.model, texts, twins)
        self.null_: np.ndarray | None = None
        self.no_null_: str | None = None
        if context.reference is None:
            self.test_: dict[str, Any] = {"skipped": "no reference model: twins read less "
                                          "naturally than originals, so a drop alone proves "
                                          "nothing (pass --reference MODEL)"}  # fmt: skip
        elif not same_tokens(context.model, context.reference, texts):
            self.no_null_ = OTHER_TOKENS
            self.test_ = {"skipped": OTHER_TOKENS}
        else:
            self.null_ = self._drops(context.reference, texts, twins)
            self.test_ = self.paired_test(self.scores_, self.null_)
        return self

    def paired_test(self, model_drops: np.ndarray, reference_drops: np.ndarray) -> dict:
        """Do some items lose far more on their twins under the audited model than under the
        reference? One-sided sign-flip permutation test of the median-centred extra drops."""
        both = np.isfinite(model_drops) & np.isfinite(reference_drops)
        extra = model_drops[both] - reference_drops[both]
        if len(extra) < 3:
            return {"skipped": f"{len(extra)} item(s) have twins; the test needs 3"}
        median = float(np.median(extra))
        difference = extra - median
        observed = float(difference.mean())
        rng = np.random.default_rng(self.seed)
        above = 0
        for start in range(0, self.permutations, CHUNK):
            count = min(CHUNK, self.permutations - start)
            signs = rng.choice((-1.0, 1.0), size=(count, len(difference)))
            above += int(((signs * difference).mean(axis=1) >= observed - 1e-12).sum())
        return {
            "statistic": observed,
            "p_value": (above + 1) / (self.permutations + 1),
            "p_value_floor": 1 / (self.permutations + 1),
            "items": int(both.sum()),
            "extra_drop": float(extra.mean()),
            "median_extra_drop": median,
            "model_drop": float(model_drops[both].mean()),
            "reference_drop": float(reference_drops[both].mean()),
        }

    def explain(self, test: SetTest, rejected: bool | None) -> str:
        if test.skipped:
            return f"skipped: {test.skipped}"
        if rejected:
            return ("some items lose far more likelihood on their twins than under the "
                    "reference: a memorised subset")  # fmt: skip
        return "no item subset loses more on its twins than under the reference"
