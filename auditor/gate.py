"""The release gate: check a run report against a policy of limits.

The policy is TOML with a `[rules]` table (the default, `auditor/policies/default.toml`, ships in
the package); a rule that is absent is not checked, a misspelled one is an error. Each rule
compares one number of the report with its limit:

| rule | value checked |
| --- | --- |
| max_flagged_fraction | share of benchmark items any overlap probe flagged |
| max_exact_duplicates | benchmark items the verbatim-copy probe (`exact`) flagged |
| max_fitting_share | upper end of the fitting share's confidence interval |
| max_clean_gap | candidate accuracy on all items minus on clean items |
| max_drift_score | the drift test's statistic (`c2st`: 2·AUC − 1) |
| require_converged_controls | controls that had not converged (`true`: none may be) |
| max_membership_fraction | share of items the model probes flag (a causal-LM candidate) |

A rule whose value the report cannot give (shares undefined, a test skipped) is a warning, which
fails the gate only with `fail_on_warnings = true`. The membership rule does not apply to a
candidate that is not a causal LM (no token probabilities): it is left out for such a run. Its
flags are calibrated at the run's `--membership-fpr`, so its limit belongs well above that. A
report with no benchmark items never passes.
"""

import difflib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from auditor.errors import InputError
from auditor.report import RunReport
from auditor.report_io import read_report, validation_message

Status = Literal["pass", "fail", "warn"]
DEFAULT_POLICY = Path(__file__).resolve().parent / "policies" / "default.toml"


Limit = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
"""A share or accuracy difference in [0, 1]. Strict (see `Rules`): `true` is no limit."""
CountLimit = Annotated[int, Field(ge=0)]


class Rules(BaseModel):
    """Typed limits. Strict: TOML `true` would be read as 1 (a rule that always passes), `"0.1"`
    or `5.0` would be coerced; each is refused with the field named instead."""

    model_config = ConfigDict(extra="forbid", strict=True)

    max_flagged_fraction: Limit | None = None
    max_exact_duplicates: CountLimit | None = None
    max_fitting_share: Limit | None = None
    max_clean_gap: Limit | None = None
    max_drift_score: Limit | None = None
    require_converged_controls: bool | None = None
    max_membership_fraction: Limit | None = None


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    fail_on_warnings: bool = False
    rules: Rules = Rules()


def _policy_message(path: Path, error: ValidationError) -> str:
    """Each problem with its field, and a did-you-mean for a misspelled rule or key."""
    for problem in error.errors():
        if problem["type"] == "extra_forbidden":
            loc = [str(part) for part in problem["loc"]]
            model = Rules if loc[0] == "rules" and len(loc) > 1 else Policy
            close = difflib.get_close_matches(loc[-1], list(model.model_fields), n=1, cutoff=0.6)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            known = ", ".join(model.model_fields)
            return (f"{path}: unknown policy key {'.'.join(loc)!r}.{hint} Known keys here: "
                    f"{known}.")  # fmt: skip
    return (
        f"{path}: invalid policy: {validation_message(error)}. Limits are numbers: shares in "
        "[0, 1] (0.05 for 5%), counts whole numbers >= 0; fail_on_warnings and "
        "require_converged_controls are true or false."
    )


@dataclass(frozen=True)
class Outcome:
    rule: str
    status: Status
    value: float | None
    limit: float | None
    message: str


def load_policy(path: Path) -> Policy:
    try:
        return Policy.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except OSError as error:
        raise InputError(f"{path}: cannot read the policy ({error.strerror}).") from error
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"{path}: not valid TOML ({error}).") from error
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: the policy is not UTF-8 text ({error.reason}).") from error
    except ValidationError as error:
        raise InputError(_policy_message(path, error)) from error


def load_report(path: Path) -> RunReport:
    """The `audit run` report at `path` (the gate checks run reports only)."""
    return read_report(path, kinds=("run",))  # type: ignore[return-value]


def _values(report: RunReport) -> dict[str, float | None]:
    """Each rule's value, None where the report cannot give it (a run without training data
    has no overlap, shift or attribution; a run without a causal-LM candidate or a reference
    has no membership flags)."""
    values = dict.fromkeys(Rules.model_fields)
    membership = report.membership
    if membership is not None:
        values["max_membership_fraction"] = membership.summary.fraction
    attribution, overlap, shift = report.attribution, report.overlap, report.shift
    if attribution is None or overlap is None or shift is None:
        return values
    shares = attribution.shares
    clean = attribution.clean["candidate"].value
    verbatim = overlap.probes.get(overlap.provides.get("verbatim", ""))
    drift = shift.tests.get(shift.provides.get("drift", ""))
    fitting = shares["fitting"] if shares else None
    return {
        **values,
        "max_flagged_fraction": overlap.summary.fraction,
        "max_exact_duplicates": verbatim.flagged if verbatim else None,
        # a lower (or unknown-way) bound says nothing about how high fitting really is
        "max_fitting_share": fitting.high if fitting and fitting.bound in (None, "upper") else None,
        "require_converged_controls": (
            sum(not ok for ok in attribution.converged.values())
            if attribution.converged else None
        ),
        "max_clean_gap": None if clean is None else report.candidate.accuracy - clean,
        "max_drift_score": drift.statistic if drift else None,
    }


MEANINGS = {
    "max_flagged_fraction": "too many benchmark items overlap the training data (any probe)",
    "max_exact_duplicates": "benchmark items occur verbatim in the training data",
    "max_fitting_share": "a model trained from scratch on the training data explains more of "
    "the accuracy than allowed (an easy-to-fit task, not necessarily a leak)",
    "max_clean_gap": "the candidate scores higher on all items than on items with no overlap: "
    "overlapping items may inflate the headline",
    "max_drift_score": "a classifier separates benchmark from training items: the benchmark is "
    "out of the training distribution",
    "require_converged_controls": "a control had not converged, so the shares are bounds, not "
    "estimates; rerun with --budget full (and without a --max-steps or --max-minutes cap)",
    "max_membership_fraction": "the model's own token probabilities single out more benchmark "
    "items than a model that did not see them would (seen in training)",
}
"""What a failing rule means, printed on its FAIL line."""

WHY_NO_VALUE = {
    "max_fitting_share": "no upper bound on the fitting share: the shares are undefined, or a "
    "control had not converged or trained on a sample (the quick budget), so fitting is only "
    "bounded below or either way; --budget full trains on every item",
    "require_converged_controls": "the report records no convergence verdicts",
    "max_membership_fraction": "no membership flags: the candidate is not a causal LM, or no "
    "reference model was available (pass --reference MODEL or --train DATA)",
}


def check(report: RunReport, policy: Policy) -> list[Outcome]:
    outcomes = []
    if not report.candidate.items or (report.overlap is not None and not report.overlap.items):
        empty = "the report has no benchmark items: nothing was audited"
        outcomes.append(Outcome("benchmark_items", "fail", 0, 1, empty))
    values = _values(report)
    for rule, limit in policy.rules.model_dump().items():
        if limit is None or limit is False:
            continue
        if limit is True:  # a requirement: no control may fall short of it
            limit = 0
        if rule == "max_membership_fraction" and report.membership is None:
            continue  # not a causal LM: no token probabilities to read
        value = values[rule]
        if value is None:
            why = WHY_NO_VALUE.get(rule, "the report has no value for it")
            outcomes.append(Outcome(rule, "warn", None, limit, why))
        elif value <= limit:
            outcomes.append(Outcome(rule, "pass", value, limit, f"{value:.4g} <= {limit:g}"))
        else:
            message = f"{value:.4g} > {limit:g}: {MEANINGS[rule]}"
            outcomes.append(Outcome(rule, "fail", value, limit, message))
    return outcomes


def passed(outcomes: list[Outcome], policy: Policy) -> bool:
    failing = {"fail", "warn"} if policy.fail_on_warnings else {"fail"}
    return not any(outcome.status in failing for outcome in outcomes)


def markdown(outcomes: list[Outcome], ok: bool) -> str:
    title = f"### audit gate: {'passed' if ok else 'failed'}"
    lines = [title, "", "| rule | status | value | limit |", "| --- | --- | --- | --- |"]
    for o in outcomes:
        value = "—" if o.value is None else f"{o.value:.4g}"
        lines.append(f"| {o.rule} | {o.status} | {value} | {o.limit:g} |")
    return "\n".join(lines) + "\n"


def github_escape(text: str, *, property_value: bool = False) -> str:
    """Escape workflow-command text (and property values) as GitHub's toolkit does."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def annotation(outcome: Outcome) -> str:
    level = "error" if outcome.status == "fail" else "warning"
    title = github_escape(f"audit gate: {outcome.rule}", property_value=True)
    return f"::{level} title={title}::{github_escape(outcome.message)}"


def junit(outcomes: list[Outcome]) -> bytes:
    from xml.etree import ElementTree

    failures = sum(o.status == "fail" for o in outcomes)
    suite = ElementTree.Element("testsuite", name="audit gate", tests=str(len(outcomes)),
                                failures=str(failures))  # fmt: skip
    for o in outcomes:
        case = ElementTree.SubElement(suite, "testcase", classname="audit.gate", name=o.rule)
        if o.status == "fail":
            ElementTree.SubElement(case, "failure", message=o.message).text = o.message
        elif o.status == "warn":
            ElementTree.SubElement(case, "skipped", message=o.message)
    return ElementTree.tostring(suite, encoding="utf-8", xml_declaration=True)
