"""Every report `audit` writes, and the one schema version they share.

The report is the product's contract with scripts and CI (DESIGN.md): JSON in, JSON out, every
renderer (terminal, Markdown, HTML) and the gate read it and nothing else, so a saved report can
be re-rendered (`audit render`) and gated without the data or the models. This module imports
pydantic only: the gate, the renderers and the schema module stay free of torch. Reading a saved
report back, validated, is `auditor.report_io`.

Shapes (DESIGN.md's overlap contract, extended by keys, never changed):

- `OverlapReport`: `probes` {name: summary}, `summary` (union verdict), `items` in benchmark
  order, each with every probe's score, flag and match; flagged items carry their text and the
  matched training text, trimmed around the shared span, so renderers need no corpus.
- `ShiftReport`: `tests` {name: statistic, p-value or why none, the probe's verdict in words},
  the Holm-corrected verdict, per-item scores of the probes that have them.
- `RunReport`: both, the candidate's and the controls' per-item correctness, the attribution.

`provides` maps a measure other parts of the audit read ("in_distribution", "similarity",
"drift", "verbatim") to the probe that supplies it, so nothing outside `probes/` names a probe.
"""

import math
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, Field, model_validator

from auditor import __version__

SCHEMA_VERSION = 6
"""2: report kinds, probe kinds/methods/thresholds, typed shift tests, evidence texts;
3: the overlap verdict's calibration; 4: membership reports, runs without training data;
5: the self-pretrained control (`controls.selfpretrained`, `accuracy.selfpretrained`) and the
split of transfer it measures (shares `training_text` and `external_transfer`), and the
controls' selection rule in their convergence record; 6: `attribution.sampled` (and each
control's `convergence.sample`): controls that trained on a sample of the training data, whose
shares are bounds."""
READABLE_VERSIONS = (4, 5, 6)
"""What `audit render` and `audit gate` read: a version-4 report is a version-6 one without the
self-pretrained control and the samples (every key added since is optional), so reports saved by
earlier releases still render and gate."""

EXCERPT_CHARS = 400
"""Longest dataset text a report carries per item (trimmed around the matched span)."""
TOOL = {"name": "audit", "version": __version__}

Count = Annotated[int, Field(ge=0)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
"""Counts and shares a report states: a negative count or a share outside [0, 1] is a damaged
or hand-edited report, refused on reading rather than gated or rendered as if measured."""


class CorpusInfo(BaseModel):
    source: str
    items: Count
    fingerprint: str
    skipped_lines: Count = 0
    """Malformed lines left out under `--skip-bad-lines` (0 when none were)."""


# -- overlap ---------------------------------------------------------------------------------


class ProbeSummary(BaseModel):
    kind: str
    params: dict[str, Any]
    method: str
    """The probe's own one-line summary of its parameters (what the tables show)."""
    threshold: float | None = None
    """The score at which an item is flagged, where one number decides it (calibrated probes:
    flagged when the score is above it)."""
    estimated_fpr: Fraction | None = None
    """Calibrated probes: the rate at which this probe alone flags the null sample."""
    notable: float | None = None
    """Unflagged items scoring above this are shown as partial overlap (`Probe.notable`)."""
    flagged: Count
    fraction: Fraction
    info: dict[str, Any] = {}


class MatchInfo(BaseModel):
    train_index: int
    train_id: str
    span: str | None = None
    train_text: str | None = None
    """The matched training item, trimmed around the span (flagged items only)."""


class ItemProbe(BaseModel):
    score: float
    flagged: bool
    match: MatchInfo | None = None


class OverlapItem(BaseModel):
    index: int
    id: str
    flagged: bool
    text: str | None = None
    """The benchmark item, trimmed (flagged items only)."""
    probes: dict[str, ItemProbe]


class Summary(BaseModel):
    flagged: Count
    fraction: Fraction


class PassReport(BaseModel):
    """What the reports of one streamed pass (overlap, shift) share."""

    schema_version: int = SCHEMA_VERSION
    tool: dict[str, str] = TOOL
    train: CorpusInfo
    bench: CorpusInfo
    provides: dict[str, str] = {}
    """Measure -> the probe of this report that supplies it (`Probe.provides`)."""


class CalibrationInfo(BaseModel):
    """How the calibrated probes' thresholds were set (`auditor.calibration`)."""

    fpr: Fraction
    """The target false-positive rate (`--fpr`)."""
    estimated_fpr: Fraction
    """The combined verdict's rate on the null sample."""
    queries: Count
    """Null openings used (distinct documents)."""
    dropped: Count
    """Null openings dropped: their document occurs more than once in the corpus."""
    cut: float
    """Flag when the product of an item's calibrated p-values is below this."""
    thresholds: dict[str, float | None]
    """Where each calibrated probe flags alone (None: no score alone does)."""
    probe_fpr: dict[str, Fraction]
    """Each calibrated probe's rate alone on the null sample."""
    seed: int
    method: str


class OverlapReport(PassReport):
    """DESIGN.md's overlap contract (`audit overlap --format json`)."""

    report: Literal["overlap"] = "overlap"
    probes: dict[str, ProbeSummary]
    summary: Summary
    items: list[OverlapItem]
    calibration: CalibrationInfo | None = None
    """Set when thresholds were calibrated on a null sample; None: fixed thresholds."""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        """The summary and each probe's count must be what the items say: the gate reads the
        summaries, the renderers the items, and a report where they disagree passes one and
        shows the other."""
        flagged = sum(item.flagged for item in self.items)
        if self.summary.flagged != flagged:
            raise ValueError(f"summary.flagged is {self.summary.flagged} but {flagged} items "
                             "are flagged")  # fmt: skip
        if self.items and not math.isclose(self.summary.fraction, flagged / len(self.items)):
            raise ValueError(f"summary.fraction is {self.summary.fraction:g} but {flagged} of "
                             f"{len(self.items)} items are flagged")  # fmt: skip
        for name, probe in self.probes.items():
            count = sum(bool(i.probes.get(name) and i.probes[name].flagged) for i in self.items)
            if self.items and probe.flagged != count:
                raise ValueError(f"probes.{name}.flagged is {probe.flagged} but {count} items "
                                 f"carry a {name} flag")  # fmt: skip
        return self


# -- shift -----------------------------------------------------------------------------------


class TestSummary(BaseModel):
    """One set-level test: the probe's result envelope plus its words."""

    __test__ = False  # not a pytest class

    params: dict[str, Any]
    method: str
    statistic: float | None
    statistic_label: str
    p_value: float | None = None
    p_value_floor: float | None = None
    """The smallest p-value the test can give (1/(permutations + 1) for a permutation test)."""
    at_floor: bool = False
    """`p_value` is the floor: a bound (p <= floor), shown as "≤ 0.005 (200 permutations)"."""
    skipped: str | None = None
    """Why the test has no result (too few items, no labels), when it has none."""
    why_no_p_value: str | None = None
    """Why a test that ran has no p-value (a descriptive statistic)."""
    verdict: str
    """What the test says in words, from its own numbers and the Holm decision."""
    details: dict[str, Any] = {}


class ShiftItem(BaseModel):
    index: int
    scores: dict[str, float] = {}
    """Per-item scores of the tests that have them (typicality, classifier probability)."""
    text: str | None = None
    """The benchmark item, trimmed (only the least typical items, which the renderers list)."""


class ShiftSummary(BaseModel):
    shifted: bool
    alpha: float
    holm_p_values: dict[str, float]
    """Each test's Holm-adjusted p-value (tests without a p-value are left out)."""


class ShiftReport(PassReport):
    """The shift contract (`audit shift --format json`)."""

    report: Literal["shift"] = "shift"
    tests: dict[str, TestSummary]
    summary: ShiftSummary
    items: list[ShiftItem]


# -- membership ------------------------------------------------------------------------------


class MembershipProbe(BaseModel):
    """One model probe: what it scores, and how (whether) its flags were calibrated."""

    kind: str = "model"
    params: dict[str, Any]
    method: str
    score: str
    """What the score is, in words (higher = more likely seen in training)."""
    threshold: float | None = None
    """Flagged above this; None: the probe flags nothing (no null to calibrate on)."""
    null: str | None = None
    """How the threshold was set, in words; None when there is none."""
    flagged: Count | None = None
    fraction: Fraction | None = None
    auroc_vs_overlap: Fraction | None = None
    """How well the score ranks the items the overlap probes flagged above the others (with
    training data, when both kinds of item exist)."""
    unscored: Count = 0
    """Items with no score (too short, or no twin for the rewrite probe)."""
    test: TestSummary | None = None
    """The set-level test, where the probe has one (rewrite: the paired test)."""


class MembershipItemProbe(BaseModel):
    score: float | None
    flagged: bool


class MembershipItem(BaseModel):
    index: int
    id: str
    score: float | None
    """The summary probe's score (higher = more likely seen)."""
    flagged: bool
    text: str | None = None
    """The benchmark item, trimmed (flagged items only)."""
    probes: dict[str, MembershipItemProbe]


class MembershipSummary(BaseModel):
    probe: str
    """The probe whose score and flags the items and this summary carry."""
    flagged: Count | None
    """None: no probe could be calibrated (no reference model), so nothing is flagged."""
    fraction: Fraction | None
    fpr_target: Fraction
    note: str
    """What the flags mean (or why there are none), in words."""


class MembershipReport(BaseModel):
    """The membership contract (`audit membership --format json`, `audit run`'s part)."""

    report: Literal["membership"] = "membership"
    schema_version: int = SCHEMA_VERSION
    tool: dict[str, str] = TOOL
    model: str
    reference: str | None
    reference_how: str | None = None
    """Where the reference came from (`--reference`, the pretrained control, `--base`)."""
    bench: CorpusInfo
    probes: dict[str, MembershipProbe]
    summary: MembershipSummary
    items: list[MembershipItem]
    not_in_training: list[int] | None = None
    """Items the model probes flag and no overlap probe does: seen by the model, not found in
    the declared training data (None: no training data was searched)."""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        flagged = sum(item.flagged for item in self.items)
        if self.summary.flagged is not None and self.summary.flagged != flagged:
            raise ValueError(f"summary.flagged is {self.summary.flagged} but {flagged} items "
                             "are flagged")  # fmt: skip
        if self.summary.flagged is None and flagged:
            raise ValueError(f"summary.flagged is null but {flagged} items are flagged")
        return self


# -- attribution -----------------------------------------------------------------------------


class Estimate(BaseModel):
    value: float | None
    low: float | None = None
    high: float | None = None
    items: int = 0
    bound: Literal["lower", "upper", "unknown"] | None = None
    """Set when a control behind the number had not converged, or trained on a sample of the
    training data: the true share is at least ("lower") or at most ("upper") the value, or
    either way ("unknown")."""


class Attribution(BaseModel):
    chance: float
    confidence: float
    bootstrap: int
    accuracy: dict[str, Estimate]
    shares: dict[str, Estimate] | None
    undefined: str | None = None
    """Why the shares are undefined, when they are."""
    undefined_replicates: float = 0.0
    clean: dict[str, Estimate]
    flagged: dict[str, Estimate]
    typicality_quintiles: dict[str, list[Estimate]]
    converged: dict[str, bool] = {}
    """Each control's convergence verdict (`controls.convergence.RULE`), as the shares read it."""
    sampled: dict[str, dict[str, int]] = {}
    """The controls that trained on a sample of the training data (the quick budget's cap):
    `items` of `of`. On all of it they would score higher, so the shares they feed are bounds
    like a short control's."""
    verdict: list[str]


# -- run -------------------------------------------------------------------------------------


class ModelScore(BaseModel):
    model: str
    how: str
    """"evaluated as is" or why another score stands in for it."""
    accuracy: float
    items: list[dict[str, Any]]


class ControlSummary(BaseModel):
    init: str
    accuracy: float
    accuracy_by_seed: list[float]
    learning_rate: float
    search: list[dict[str, Any]]
    train_items: int
    val_items: int
    checkpoint: str
    convergence: dict[str, Any] = {}
    """Did the runs at the chosen rate converge: the verdict, the rule, each seed's diagnostics."""
    items: list[dict[str, Any]]
    """Per benchmark item: index, prediction, gold, correct, correct_by_seed."""


class RunReport(BaseModel):
    """`audit run`'s report: overlap, shift, candidate, controls, attribution, membership.

    Without training data there is nothing to search or train controls on: `overlap`, `shift`
    and `attribution` are None, `controls` empty, and `no_training_data` says so."""

    report: Literal["run"] = "run"
    schema_version: int = SCHEMA_VERSION
    provenance: dict[str, Any]
    config: dict[str, Any]
    task: dict[str, Any]
    overlap: OverlapReport | None
    shift: ShiftReport | None
    candidate: ModelScore
    controls: dict[str, ControlSummary]
    attribution: Attribution | None
    membership: MembershipReport | None = None
    """The model probes' evidence (a causal-LM candidate), None otherwise."""
    no_training_data: str | None = None
    """Why the report has no overlap, shift, controls or attribution, when it has none."""


REPORTS: dict[str, type[BaseModel]] = {
    "overlap": OverlapReport,
    "shift": ShiftReport,
    "membership": MembershipReport,
    "run": RunReport,
}
"""Each report's `report` key -> its model (how `audit render` and the gate read a file)."""

Report = OverlapReport | ShiftReport | MembershipReport | RunReport
