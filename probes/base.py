"""What every probe shares: the probe interface, its scan, and the result types.

Shape (cleanlab's issue managers + alibi-detect's detectors + scikit-learn's estimators):

- `__init__` stores keyword parameters only; `get_params()` returns them.
- `fit(bench)` indexes the *benchmark* (small) and returns `self`; fitted state ends in `_`.
- `start_scan()` returns a `Scan` that consumes the *training* corpus batch by batch
  (`update`, split into a thread-safe `prepare` and an ordered `absorb`), so memory stays
  proportional to the benchmark however large the corpus, and
  several probes share one pass over the corpus; `finish()` returns the `ProbeResult`.
- `score(train)` is the one-call form: one scan over the whole corpus. Neither changes the probe.

A `ProbeResult` is one envelope for every kind (cleanlab's three layers, alibi-detect's
`data` + `meta`): per-item scores (overlap and shift probes: in [0, 1]; model probes: a
log-likelihood statistic, higher = more likely seen), with a flag and the evidence (which
training item matched, and the overlapping span), a summary (flagged count and fraction), a
set-level test (`SetTest`: statistic, p-value or why none), what produced it (kind, parameters,
the probe's own one-line summary, the flag threshold) and a free-form `info` dict for the
method's details.

`requires` is enforced: a scan reading a batch feature it did not declare fails
(`probes.batch.ProbeContractError`), and the pipeline computes for a pass only what its probes
declared. The training batch a scan receives is `probes.batch.TrainBatch` (also importable from
here, as plugins do).
"""

import inspect
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self

import numpy as np

from auditor.corpus import Corpus
from probes.batch import TrainBatch

if TYPE_CHECKING:
    from auditor.embeddings import Encoder
    from probes.null import NullSample

ProbeKind = Literal["overlap", "shift", "model"]


class NotFittedError(RuntimeError):
    """A probe was asked to scan before `fit`."""


class ParamError(ValueError):
    """A probe parameter out of its range; `key` names it, the message says why."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class LoadedModel:
    """The audited model as a probe of kind `model` receives it."""

    name: str
    network: Any
    tokenizer: Any
    memo: dict = field(default_factory=dict, compare=False, repr=False)
    """What probes computed from this model and share (`probes.membership.token_stats`)."""
    on_progress: Any = field(default=None, compare=False, repr=False)
    """`(stage, done, total)`, called as forward passes advance (drives progress bars)."""


@dataclass(frozen=True)
class FitContext:
    """What the pipeline hands a probe at `fit`, beside the benchmark, as `requires` asks.

    `encoder` is the audit's shared sentence encoder ("embeddings"); `model` the audited model
    ("model": an object with the loaded network and its tokenizer). A probe that requires
    something the audit does not have is refused before any data is read.
    """

    encoder: "Encoder | None" = None
    model: LoadedModel | None = None
    reference: LoadedModel | None = None
    """A model that did not see the benchmark ("reference"): the model probes' null."""
    task: str | None = None
    """The benchmark's task type, when known (how model probes present an item to a model)."""
    null: "NullSample | None" = None
    """Training texts shaped like benchmark items, which probes that `calibrate` also score
    (each against the corpus minus its own document): `probes.null`."""


@dataclass(frozen=True)
class Match:
    """Evidence for a benchmark item: the training item that matched best, and what overlaps."""

    train_index: int
    train_id: str
    span: str | None = None
    """The overlapping text (normalised words), where the method finds one."""

    def to_dict(self) -> dict[str, Any]:
        return {"train_index": self.train_index, "train_id": self.train_id, "span": self.span}


@dataclass(frozen=True)
class ItemScore:
    score: float
    flagged: bool
    match: Match | None = None


@dataclass(frozen=True)
class SetTest:
    """A set-level test's result (alibi-detect's `data`): its headline statistic, its p-value
    where the test has one, why it has no result when skipped, and the rest of its numbers."""

    statistic: float | None
    p_value: float | None = None
    skipped: str | None = None
    why_no_p_value: str | None = None
    """Why a test that ran has no p-value (a descriptive statistic, not a hypothesis test)."""
    details: dict[str, Any] = field(default_factory=dict)
    p_value_floor: float | None = None
    """The smallest p-value the test can return (a permutation test's 1/(permutations + 1))."""
    at_floor: bool = False
    """The p-value is the floor: the data are at least that significant, so it is a bound
    (p <= floor), not a measurement; more permutations would give a smaller one."""


@dataclass(frozen=True)
class ProbeResult:
    """One probe's result envelope: per-item scores, set-level test, and what produced them."""

    probe: str
    kind: ProbeKind
    params: dict[str, Any]
    items: list[ItemScore]
    """One per benchmark item, in order; empty for set-level tests with no per-item score."""
    method: str = ""
    """The probe's one-line summary of its parameters, as the reports show it."""
    threshold: float | None = None
    """The score at which items are flagged, where one number decides it."""
    info: dict[str, Any] = field(default_factory=dict)
    test: SetTest | None = None
    null: np.ndarray | None = None
    """Calibrating probes: the score of each null-sample query (`probes.null`), same scale as
    the items' scores."""

    @property
    def flagged(self) -> int:
        return sum(item.flagged for item in self.items)

    @property
    def fraction(self) -> float:
        return self.flagged / len(self.items) if self.items else 0.0


class Scan(ABC):
    """The streaming half of a probe: consumes training batches, then gives the result.

    Consuming a batch is split in two so the pipeline can use every core: `prepare` reads only
    the fitted probe and the batch (no scan state), so it runs in worker threads on several
    batches at once (numpy releases the GIL); `absorb` folds its output into the scan's state,
    in batch order, on one thread.
    """

    def prepare(self, batch: TrainBatch) -> Any:
        return None

    @abstractmethod
    def absorb(self, batch: TrainBatch, prepared: Any) -> None: ...

    def update(self, batch: TrainBatch) -> None:
        self.absorb(batch, self.prepare(batch))

    @abstractmethod
    def finish(self) -> ProbeResult: ...


class Probe(ABC):
    """A way of scoring benchmark items against training data; describes itself.

    Class attributes say what it is (`name`, `kind`), what it needs (`requires`, from
    `FEATURES`) and which measures other parts of the audit may read from it (`provides`:
    "verbatim" copies, graded "similarity", per-item "in_distribution", set-level "drift"). Its
    result carries its own parameter summary (`describe`) and, for set-level tests, its verdict in
    words (`explain`), so reports and renderers never branch on probe names.
    """

    name: ClassVar[str]
    kind: ClassVar[ProbeKind]
    requires: ClassVar[frozenset[str]]
    provides: ClassVar[frozenset[str]] = frozenset()
    shown_params: ClassVar[tuple[str, ...] | None] = None
    """Parameters the one-line summary shows (None: all of them)."""
    statistic_key: ClassVar[str] = "statistic"
    """Set-level tests: the key of `test` holding the headline statistic."""
    statistic_label: ClassVar[str] = ""
    """Set-level tests: how tables label that statistic ("drift", "coverage"; "" for none)."""
    notable: ClassVar[float | None] = None
    """An item this probe does not flag but scores above this is still shown as evidence of
    partial overlap (the n-gram probe: any shared n-gram, GPT-3's contamination criterion)."""
    process_safe: ClassVar[bool] = False
    """Its scan's `prepare` reads only the fitted probe and the batch's text features (no torch,
    no open handles), so the pass may run it in forked worker processes (`auditor.scan`)."""
    calibrates: ClassVar[bool] = False
    """Also scores the null sample (`FitContext.null`) into `ProbeResult.null`, so its threshold
    can be set at a target false-positive rate (`auditor.calibration`)."""
    no_p_value: ClassVar[str | None] = None
    """Set-level results that are descriptive, not tests: why they carry no p-value."""
    bounds: ClassVar[dict[str, tuple[float | None, float | None]]] = {}
    """Allowed closed range of each numeric parameter ((low, high), None for open), checked by
    `check_params` before any data is read: a threshold of 5 or NaN would run and flag nothing."""

    def check_params(self) -> None:
        """Raise `ParamError` naming the parameter when one is out of range or not a number.
        Subclasses add rules between parameters (and call this). `__init__` stays store-only
        (scikit-learn's rule); the commands call this once, in `probes.build_probes`."""
        for key, (low, high) in self.bounds.items():
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
                raise ParamError(key, f"must be a number, not {value!r}")
            if (low is not None and value < low) or (high is not None and value > high):
                lo = "-inf" if low is None else f"{low:g}"
                hi = "inf" if high is None else f"{high:g}"
                raise ParamError(key, f"{value:g} is outside [{lo}, {hi}]")

    def get_params(self) -> dict[str, Any]:
        """The constructor's keyword parameters and their current values."""
        names = inspect.signature(type(self).__init__).parameters
        return {name: getattr(self, name) for name in names if name != "self"}

    @abstractmethod
    def fit(self, bench: Corpus, context: FitContext | None = None) -> Self:
        """Index the benchmark; returns self. `context` holds what `requires` asks beyond the
        benchmark (the shared sentence encoder, the audited model)."""

    @abstractmethod
    def start_scan(self) -> Scan:
        """A fresh scan over a training corpus (raises `NotFittedError` before `fit`)."""

    def score(self, train: Corpus, batch_size: int = 1024) -> ProbeResult:
        scan = self.start_scan()
        for batch in train.batches(batch_size):
            scan.update(TrainBatch(batch, train.fingerprint, len(train), self.requires))
        return scan.finish()

    def describe(self, info: dict[str, Any]) -> str:
        """One line of the parameters that decide the result (the reports' "parameters")."""
        params = self.get_params()
        shown = params if self.shown_params is None else self.shown_params
        return ", ".join(f"{key}={params[key]}" for key in shown if key in params)

    @property
    def flag_threshold(self) -> float | None:
        """The score at which an item is flagged, where one parameter decides it (by default
        a parameter named `threshold`)."""
        value = self.get_params().get("threshold")
        return float(value) if isinstance(value, int | float) else None

    def explain(self, test: SetTest, rejected: bool | None) -> str:
        """A set-level test's result in words, given whether the (Holm-corrected) test
        rejects; probes override it to say what their statistic means."""
        if test.skipped:
            return f"skipped: {test.skipped}"
        if rejected is None:
            return "no p-value"
        return "differ" if rejected else "look alike"

    def result(
        self,
        items: list[ItemScore],
        *,
        info: dict[str, Any] | None = None,
        test: dict[str, Any] | None = None,
        null: np.ndarray | None = None,
    ) -> ProbeResult:
        """The result envelope: `test` (a set-level test's numbers) is split into its headline
        statistic (`statistic_key`), p-value, skip reason and the rest."""
        info = info or {}
        set_test = None
        if test is not None:
            rest = dict(test)
            p_value, skipped = rest.pop("p_value", None), rest.pop("skipped", None)
            floor = rest.pop("p_value_floor", None)
            set_test = SetTest(
                statistic=rest.pop(self.statistic_key, None),
                p_value=p_value,
                skipped=skipped,
                why_no_p_value=self.no_p_value if p_value is None and not skipped else None,
                details=rest,
                p_value_floor=floor if p_value is not None else None,
                at_floor=p_value is not None and floor is not None and p_value <= floor * 1.0001,
            )
        return ProbeResult(
            probe=self.name, kind=self.kind, params=self.get_params(), items=items,
            method=self.describe(info), threshold=self.flag_threshold, info=info, test=set_test,
            null=null,
        )  # fmt: skip

    def _check_fitted(self) -> None:
        if not any(name.endswith("_") and not name.startswith("_") for name in vars(self)):
            raise NotFittedError(f"probe {self.name!r} must be fitted on a benchmark first")
