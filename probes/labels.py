"""`labels`: has the label distribution shifted between training data and benchmark?

Counts every training label in the streamed pass and every benchmark label, then reports the
total variation distance between the two marginals (half the L1 distance, 0 = identical, 1 =
disjoint) and the chi-square test of homogeneity on the counts (scipy). Benchmark labels never
seen in training are listed. Skipped (no p-value) when either side has no labels.
"""

from collections import Counter
from typing import ClassVar, Self

import numpy as np
from scipy.stats import chi2_contingency

from auditor.corpus import Corpus
from probes.base import FitContext, Probe, ProbeResult, Scan, SetTest, TrainBatch


class LabelsProbe(Probe):
    name: ClassVar[str] = "labels"
    kind: ClassVar[str] = "shift"
    requires: ClassVar[frozenset[str]] = frozenset({"labels"})
    process_safe: ClassVar[bool] = True
    statistic_label: ClassVar[str] = "chi²"

    def __init__(self) -> None:
        pass

    def fit(self, bench: Corpus, context: FitContext | None = None) -> Self:
        labels = bench.column("label") or []
        self.bench_counts_ = Counter(label for label in labels if label is not None)
        return self

    def explain(self, test: SetTest, rejected: bool | None) -> str:
        if test.skipped or rejected is None:
            return super().explain(test, rejected)
        differ = "differ" if rejected else "look alike"
        return f"label shares {differ} (total variation {test.details['total_variation']:.2f})"

    def start_scan(self) -> "LabelsScan":
        self._check_fitted()
        return LabelsScan(self)


class LabelsScan(Scan):
    def __init__(self, probe: LabelsProbe) -> None:
        self.probe = probe
        self.counts: Counter = Counter()

    def absorb(self, batch: TrainBatch, prepared: None) -> None:
        if batch.labels is not None:
            self.counts.update(label for label in batch.labels if label is not None)

    def finish(self) -> ProbeResult:
        bench, train = self.probe.bench_counts_, self.counts
        if not bench or not train:
            side = "benchmark" if not bench else "training data"
            test = {"statistic": None, "p_value": None, "skipped": f"the {side} has no labels"}
            return self.probe.result([], test=test)
        names = sorted(set(bench) | set(train))
        table = np.array([[train[n] for n in names], [bench[n] for n in names]], dtype=float)
        shares = table / table.sum(axis=1, keepdims=True)
        present = table.sum(axis=0) > 0
        chi2, p_value, dof, _ = chi2_contingency(table[:, present])
        test = {
            "statistic": float(chi2),
            "p_value": float(p_value),
            "dof": int(dof),
            "total_variation": float(0.5 * np.abs(shares[0] - shares[1]).sum()),
            "train_shares": dict(zip(names, np.round(shares[0], 4).tolist(), strict=True)),
            "bench_shares": dict(zip(names, np.round(shares[1], 4).tolist(), strict=True)),
            "unseen_labels": sorted(set(bench) - set(train)),
        }
        return self.probe.result([], test=test)
