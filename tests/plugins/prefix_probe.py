"""`prefix`: a benchmark item whose first words open a training document (a toy probe).

The README's "Extending" example: one module, registered through the `audit.probes` entry
point, then run by `audit overlap` and `audit run` beside the built-in probes.
"""

from typing import ClassVar, Self

from auditor.corpus import Corpus
from auditor.normalize import tokenize
from probes.base import FitContext, ItemScore, Match, Probe, ProbeResult, Scan, TrainBatch


class PrefixProbe(Probe):
    name: ClassVar[str] = "prefix"
    kind: ClassVar[str] = "overlap"
    requires: ClassVar[frozenset[str]] = frozenset({"text"})

    def __init__(self, *, words: int = 6) -> None:
        self.words = words

    def fit(self, bench: Corpus, context: FitContext | None = None) -> Self:
        self.prefixes_ = [" ".join(tokenize(text)[: self.words]) for text in bench.texts]
        return self

    def start_scan(self) -> "PrefixScan":
        self._check_fitted()
        return PrefixScan(self)


class PrefixScan(Scan):
    def __init__(self, probe: PrefixProbe) -> None:
        self.probe = probe
        self.wanted = {prefix for prefix in probe.prefixes_ if prefix}
        self.first: dict[str, tuple[int, str]] = {}

    def absorb(self, batch: TrainBatch, prepared: None) -> None:
        for offset, text in enumerate(batch.texts):
            prefix = " ".join(tokenize(text)[: self.probe.words])
            if prefix in self.wanted and prefix not in self.first:
                self.first[prefix] = (batch.start + offset, batch.ids[offset])

    def finish(self) -> ProbeResult:
        items = []
        for prefix in self.probe.prefixes_:
            hit = self.first.get(prefix)
            match = Match(hit[0], hit[1], prefix) if hit else None
            items.append(ItemScore(1.0 if hit else 0.0, hit is not None, match))
        return self.probe.result(items, info={"score": "1 when its first words open a document"})
