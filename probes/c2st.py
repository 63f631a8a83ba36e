"""`c2st`: classifier two-sample test — can a classifier tell benchmark items from training items?

Lopez-Paz & Oquab (2017). A balanced sample (at most `max_per_side` items from each side, the
same number from both) is labelled training = 0, benchmark = 1; a scikit-learn logistic
regression on the sentence embeddings predicts each item out of fold (stratified `folds`-fold
cross-validation), and the out-of-fold ROC AUC measures how separable the two are: 0.5 means
indistinguishable, 1.0 means disjoint. The drift score is 2·AUC − 1. The p-value comes from
`n_permutations` refits with shuffled labels (the whole cross-validation is repeated, so the null
accounts for the classifier's own optimism); each refit costs ~25 ms at 500 items a side on two
cores, so the default 200 permutations (smallest p-value 1/201) take about 5 s; pass more for
smaller p-values. Each benchmark item gets its probability of being
"benchmark-like": out of fold where it was in the balanced sample, else the mean over the fold
models.
"""

from typing import ClassVar

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from probes.base import ItemScore, ProbeResult, SetTest
from probes.twosample import TwoSampleProbe, p_value_floor, permutation_p_value


def out_of_fold(
    features: np.ndarray, labels: np.ndarray, folds: int, seed: int, regularization: float
):
    """Out-of-fold probabilities of label 1, and the fitted fold models."""
    probabilities = np.zeros(len(labels))
    models = []
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_rows, test_rows in splitter.split(features, labels):
        model = LogisticRegression(C=regularization, max_iter=1000)
        model.fit(features[train_rows], labels[train_rows])
        probabilities[test_rows] = model.predict_proba(features[test_rows])[:, 1]
        models.append(model)
    return probabilities, models


def c2st_test(
    x: np.ndarray,
    y: np.ndarray,
    *,
    n_permutations: int,
    folds: int = 5,
    max_per_side: int = 500,
    regularization: float = 1.0,
    seed: int = 0,
) -> tuple[dict, np.ndarray]:
    """Test x (training) against y (benchmark); returns the test and each y item's probability."""
    rng = np.random.default_rng(seed)
    n = min(len(x), len(y), max_per_side)
    x_rows = np.sort(rng.choice(len(x), n, replace=False))
    y_rows = np.sort(rng.choice(len(y), n, replace=False))
    features = np.concatenate((x[x_rows], y[y_rows]))
    labels = np.concatenate((np.zeros(n, int), np.ones(n, int)))
    folds = min(folds, n)
    if folds < 2:
        return {"auc": None, "drift_score": None, "p_value": None,
                "skipped": "fewer than 2 items a side"}, np.full(len(y), np.nan)  # fmt: skip
    probabilities, models = out_of_fold(features, labels, folds, seed, regularization)
    auc = float(roc_auc_score(labels, probabilities))
    null = np.array([
        roc_auc_score(permuted, out_of_fold(features, permuted, folds, seed, regularization)[0])
        for permuted in (rng.permutation(labels) for _ in range(n_permutations))
    ])  # fmt: skip
    per_item = np.mean([model.predict_proba(y)[:, 1] for model in models], axis=0)
    per_item[y_rows] = probabilities[n:]
    test = {
        "auc": auc,
        "drift_score": 2.0 * auc - 1.0,
        "p_value": permutation_p_value(auc, null),
        "p_value_floor": p_value_floor(n_permutations),
        "per_side": n,
    }
    return test, per_item


class C2stProbe(TwoSampleProbe):
    name: ClassVar[str] = "c2st"
    requires: ClassVar[frozenset[str]] = frozenset({"embeddings"})
    provides: ClassVar[frozenset[str]] = frozenset({"drift"})
    statistic_key: ClassVar[str] = "drift_score"
    statistic_label: ClassVar[str] = "drift"
    bounds: ClassVar[dict[str, tuple[float | None, float | None]]] = {
        "n_permutations": (1, None), "folds": (2, None), "max_per_side": (2, None),
        "regularization": (1e-12, None), "max_train": (2, None),
    }  # fmt: skip

    def __init__(
        self,
        *,
        n_permutations: int = 200,
        folds: int = 5,
        max_per_side: int = 500,
        regularization: float = 1.0,
        max_train: int = 2000,
        seed: int = 0,
        model: str = "minilm",
    ) -> None:
        self.n_permutations = n_permutations
        self.folds = folds
        self.max_per_side = max_per_side
        self.regularization = regularization
        self.max_train = max_train
        self.seed = seed
        self.model = model

    def explain(self, test: SetTest, rejected: bool | None) -> str:
        if test.skipped or rejected is None:
            return super().explain(test, rejected)
        how = "separates them" if rejected else "cannot tell them apart"
        return f"a classifier {how} (AUC {test.details['auc']:.2f})"

    def evaluate(self, train: np.ndarray) -> ProbeResult:
        bench = self.bench_embeddings_
        if not len(train):
            test = {
                "auc": None,
                "drift_score": None,
                "p_value": None,
                "skipped": "no training items",
            }
            per_item = np.full(len(bench), np.nan)
        else:
            test, per_item = c2st_test(
                train, bench, n_permutations=self.n_permutations, folds=self.folds,
                max_per_side=self.max_per_side, regularization=self.regularization, seed=self.seed,
            )  # fmt: skip
        items = [
            ItemScore(float(p), False) if np.isfinite(p) else ItemScore(0.5, False)
            for p in per_item
        ]
        return self.result(
            items,
            info={"classifier": "logistic regression on sentence embeddings, out-of-fold"},
            test=test,
        )
