"""Every report `audit` writes, and the one schema version they share.

The report is the product's contract with scripts and CI (DESIGN.md): JSON in, JSON out, every
renderer (terminal, Markdown, HTML) and the gate read it and nothing else, so a saved report can
be re-rendered (`audit render`) and gated without the data or the models. This module imports
pydantic only: the gate, the renderers and the schema module stay free of torch.

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

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from auditor import __version__
from auditor.errors import InputError

SCHEMA_VERSION = 2
"""2: report kinds, probe kinds/methods/thresholds, typed shift tests, evidence texts."""

EXCERPT_CHARS = 400
"""Longest dataset text a report carries per item (trimmed around the matched span)."""
TOOL = {"name": "audit", "version": __version__}


class CorpusInfo(BaseModel):
    source: str
    items: int
    fingerprint: str


# -- overlap ---------------------------------------------------------------------------------


class ProbeSummary(BaseModel):
    kind: str
    params: dict[str, Any]
    method: str
    """The probe's own one-line summary of its parameters (what the tables show)."""
    threshold: float | None = None
    """The score at which an item is flagged, where one number decides it."""
    flagged: int
    fraction: float
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
    flagged: int
    fraction: float


class PassReport(BaseModel):
    """What the reports of one streamed pass (overlap, shift) share."""

    schema_version: int = SCHEMA_VERSION
    tool: dict[str, str] = TOOL
    train: CorpusInfo
    bench: CorpusInfo
    provides: dict[str, str] = {}
    """Measure -> the probe of this report that supplies it (`Probe.provides`)."""


class OverlapReport(PassReport):
    """DESIGN.md's overlap contract (`audit overlap --format json`)."""

    report: Literal["overlap"] = "overlap"
    probes: dict[str, ProbeSummary]
    summary: Summary
    items: list[OverlapItem]


# -- shift -----------------------------------------------------------------------------------


class TestSummary(BaseModel):
    """One set-level test: the probe's result envelope plus its words."""

    __test__ = False  # not a pytest class

    params: dict[str, Any]
    method: str
    statistic: float | None
    statistic_label: str
    p_value: float | None = None
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


# -- attribution -----------------------------------------------------------------------------


class Estimate(BaseModel):
    value: float | None
    low: float | None = None
    high: float | None = None
    items: int = 0
    bound: Literal["lower", "upper", "unknown"] | None = None
    """Set when a control behind the number had not converged: the true share is at least
    ("lower") or at most ("upper") the value, or either way ("unknown")."""


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
    """`audit run`'s report: overlap, shift, candidate, controls, attribution."""

    report: Literal["run"] = "run"
    schema_version: int = SCHEMA_VERSION
    provenance: dict[str, Any]
    config: dict[str, Any]
    task: dict[str, Any]
    overlap: OverlapReport
    shift: ShiftReport
    candidate: ModelScore
    controls: dict[str, ControlSummary]
    attribution: Attribution


REPORTS: dict[str, type[BaseModel]] = {
    "overlap": OverlapReport,
    "shift": ShiftReport,
    "run": RunReport,
}
"""Each report's `report` key -> its model (how `audit render` and the gate read a file)."""

Report = OverlapReport | ShiftReport | RunReport


def read_report(path: Path, kinds: tuple[str, ...] = tuple(REPORTS)) -> Report:
    """A saved report of one of `kinds`, validated; any problem is an input error naming the
    file and the fix (never a traceback)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InputError(f"{path}: cannot read the report ({error.strerror}).") from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: not a JSON report ({error}).") from error
    if not isinstance(data, dict):
        raise InputError(f"{path}: not an audit report (a JSON {type(data).__name__}).")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise InputError(
            f"{path}: report schema_version {version!r}, this audit reads {SCHEMA_VERSION}. "
            "Regenerate the report with this version of audit (`audit run ... --out FILE`)."
        )
    kind = data.get("report")
    if kind not in kinds:
        wanted = " or ".join(f"`audit {k}`" for k in kinds)
        raise InputError(f"{path}: a {kind!r} report; expected a report of {wanted}.")
    try:
        return REPORTS[kind].model_validate(data)
    except ValidationError as error:
        raise InputError(f"{path}: not a valid {kind} report.\n{error}") from error
