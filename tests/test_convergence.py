"""Controls the attribution can trust: convergence verdicts, bounds, successive halving, gate."""

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from auditor.attribution import Scores, attribute
from auditor.cli import app
from auditor.controls import ControlPlan, choose_rate, prepare_control, run_control
from auditor.controls.convergence import diagnose
from auditor.controls.run import control_folder
from auditor.controls.search import successive_halving
from auditor.errors import InputError
from auditor.loading import load_corpus
from auditor.tasks import task_of
from tests.models import tiny_bert

GOLDEN = Path(__file__).parent / "golden" / "run_report.json"


def curve(vals: list[float], losses: list[float]) -> list[dict]:
    return [{"epoch": i + 1.0, "step": 10 * (i + 1), "train_loss": loss, "val": val}
            for i, (val, loss) in enumerate(zip(vals, losses, strict=True))]  # fmt: skip


def summary(vals: list[float], losses: list[float]) -> dict:
    points = curve(vals, losses)
    best = max(points, key=lambda p: (p["val"], -p["step"]))
    return {"curve": points, "steps": points[-1]["step"], "best_step": best["step"]}


@pytest.mark.parametrize(
    ("vals", "converged", "stopped_by"),
    [
        ([0.5, 0.6, 0.7, 0.8], False, "step budget"),  # best at the last validation
        ([0.5, 0.8, 0.7, 0.7, 0.7], True, "early stopping"),  # 3 validations without gain
        ([0.5, 0.8, 0.8, 0.79], True, "step budget"),  # best long before the end
        ([0.5, 0.6, 0.7, 0.75, 0.78, 0.79, 0.8, 0.79], False, "step budget"),  # best 7 of 8
    ],
)
def test_convergence_rule_on_known_curves(vals, converged, stopped_by) -> None:
    verdict = diagnose(summary(vals, [1.0] * len(vals)), patience=3)
    assert (verdict["converged"], verdict["stopped_by"]) == (converged, stopped_by)


def test_falling_loss_is_read_from_the_last_validations() -> None:
    assert diagnose(summary([0.5] * 4, [2.0, 1.5, 1.2, 1.0]), 3)["train_loss_falling"]
    assert not diagnose(summary([0.5] * 4, [1.0, 1.0, 1.0, 0.999]), 3)["train_loss_falling"]


def scores(n: int, rates: dict[str, float]) -> Scores:
    rng = np.random.default_rng(0)
    return Scores(**{name: rng.permutation(np.r_[np.ones(round(r * n)), np.zeros(n - round(r * n))])
                     for name, r in rates.items()})  # fmt: skip


def test_a_short_scratch_control_turns_shares_into_bounds() -> None:
    data = scores(1000, {"candidate": 0.9, "scratch": 0.6, "pretrained": 0.9})
    ok = {"converged": True, "train_loss_falling": False}
    exact = attribute(data, 0.25, controls={"scratch": ok, "pretrained": ok}, bootstrap=200)
    assert all(share.bound is None for share in exact.shares.values())
    short = {"converged": False, "train_loss_falling": True}
    bounded = attribute(data, 0.25, controls={"scratch": short, "pretrained": ok}, bootstrap=200)
    assert bounded.shares["fitting"].bound == "lower"
    assert bounded.shares["transfer"].bound == "upper"
    assert bounded.shares["residual"].bound is None
    assert "at least 54%" in bounded.verdict[0] and "at most 46%" in bounded.verdict[0]
    assert "had not converged" in bounded.verdict[1] and "--budget full" in bounded.verdict[1]
    both = attribute(data, 0.25, controls={"scratch": short, "pretrained": short}, bootstrap=200)
    assert both.shares["transfer"].bound == "unknown" and both.shares["residual"].bound == "upper"
    itself = attribute(data, 0.25, controls={"scratch": short, "pretrained": short},
                       residual_by_construction=True, bootstrap=200)  # fmt: skip
    assert itself.shares["residual"].bound is None  # the candidate is the pretrained control
    assert itself.shares["fitting"].bound == itself.shares["transfer"].bound == "unknown"
    short_pretrained = attribute(data, 0.25, controls={"scratch": ok, "pretrained": short},
                                 residual_by_construction=True, bootstrap=200)  # fmt: skip
    assert short_pretrained.shares["fitting"].bound == "upper"  # a_p would rise: fitting falls


def test_a_scratch_control_at_chance_with_falling_loss_is_not_trusted() -> None:
    """SST-2 at the quick budget: validation flat at chance (so the curve rule passes) while the
    training loss still falls. Its fitting share must not be read as an estimate."""
    data = scores(400, {"candidate": 0.9, "scratch": 0.5, "pretrained": 0.88})
    at_chance = {"converged": True, "train_loss_falling": True}
    ok = {"converged": True, "train_loss_falling": False}
    result = attribute(data, 0.5, controls={"scratch": at_chance, "pretrained": ok},
                       bootstrap=200)  # fmt: skip
    assert result.converged == {"scratch": False, "pretrained": True}
    assert result.shares["fitting"].bound == "lower"
    settled = attribute(data, 0.5, controls={"scratch": ok, "pretrained": ok}, bootstrap=200)
    assert settled.shares["fitting"].bound is None  # at chance with a flat loss: a real zero


def test_a_control_below_chance_is_named_and_untrusted_while_still_learning() -> None:
    """A scratch control at 10% on a 6-way task (chance 16.7%): still learning, it is not
    converged; settled there, the report says its shares measure a label mismatch."""
    data = scores(400, {"candidate": 0.6, "scratch": 0.1, "pretrained": 0.6})
    learning = {"converged": True, "train_loss_falling": True}
    ok = {"converged": True, "train_loss_falling": False}
    result = attribute(data, 1 / 6, controls={"scratch": learning, "pretrained": ok},
                       bootstrap=200)  # fmt: skip
    assert result.converged == {"scratch": False, "pretrained": True}
    assert result.shares["fitting"].bound == "lower"
    settled = attribute(data, 1 / 6, controls={"scratch": ok, "pretrained": ok}, bootstrap=200)
    assert settled.converged == {"scratch": True, "pretrained": True}
    below = [line for line in settled.verdict if "below chance" in line]
    assert len(below) == 1 and below[0].startswith("The scratch control scores below chance")
    assert "10.0% [" in below[0] and "vs 16.7%" in below[0]
    above = attribute(scores(400, {"candidate": 0.6, "scratch": 0.3, "pretrained": 0.6}), 1 / 6,
                      controls={"scratch": ok, "pretrained": ok}, bootstrap=200)  # fmt: skip
    assert not any("below chance" in line for line in above.verdict)


def test_controls_trained_on_a_sample_make_the_shares_bounds() -> None:
    """A quick budget's sample of a large training set: converged on the sample, a control
    still understates what fitting all of the data gives, so its shares are bounds."""
    data = scores(1000, {"candidate": 0.9, "scratch": 0.7, "pretrained": 0.85})
    ok = {"converged": True, "train_loss_falling": False}
    sampled = {**ok, "sample": {"items": 2000, "of": 67349}}
    result = attribute(data, 0.5, controls={"scratch": sampled, "pretrained": sampled},
                       bootstrap=200)  # fmt: skip
    assert result.converged == {"scratch": True, "pretrained": True}
    assert result.sampled == {"scratch": {"items": 2000, "of": 67349}} | {
        "pretrained": {"items": 2000, "of": 67349}}
    shares = result.shares
    assert shares["fitting"].bound == "lower" and shares["transfer"].bound == "unknown"
    assert shares["residual"].bound == "upper"
    assert "at least 50%" in result.verdict[0]
    line = next(line for line in result.verdict if "sample" in line)
    assert "scratch and pretrained controls" in line and "2,000 of 67,349 items" in line
    assert "--budget full" in line
    demo = scores(1000, {"candidate": 0.9, "scratch": 0.8, "pretrained": 0.9})  # a_x = a_p
    either = attribute(demo, 1 / 6, controls={"scratch": sampled, "pretrained": sampled},
                       residual_by_construction=True, bootstrap=200)  # fmt: skip
    assert either.shares["fitting"].bound == "unknown"
    assert not any("Most of the gain" in line for line in either.verdict)  # not when "~"
    known = attribute(demo, 1 / 6, controls={"scratch": ok, "pretrained": ok},
                      residual_by_construction=True, bootstrap=200)  # fmt: skip
    assert any("Most of the gain" in line for line in known.verdict)
    whole = attribute(data, 0.5, controls={"scratch": ok, "pretrained": ok}, bootstrap=200)
    assert whole.sampled == {} and all(s.bound is None for s in whole.shares.values())
    assert not any("sample" in line for line in whole.verdict)


@pytest.fixture(scope="module")
def trec(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trec")
    train, test = load_corpus("trec:train"), load_corpus("trec:test")

    def write(name: str, corpus, n: int) -> Path:
        rows = zip(corpus.texts[:n], corpus.column("label")[:n], strict=True)
        path = folder / name
        path.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in rows))
        return path

    train_path, bench_path = write("train.jsonl", train, 400), write("bench.jsonl", test, 60)
    return load_corpus(str(train_path)), load_corpus(str(bench_path)), tiny_bert(folder / "bert")


def test_a_control_stopped_early_is_marked_not_converged(trec, tmp_path) -> None:
    train, bench, bert = trec
    plan = ControlPlan.from_budget(str(bert), "scratch", "quick", learning_rates=(3e-3,),
                                   max_steps=4, epochs=1)  # fmt: skip
    result = run_control(plan, train, bench, task_of(bench, train), cache_dir=tmp_path)
    assert result.convergence["converged"] is False
    assert result.convergence["runs"][0]["best_in_last_quarter"]
    assert "early stopping" in result.convergence["rule"]


def test_a_control_out_of_time_stops_after_one_validation_per_run(trec, tmp_path) -> None:
    """--max-minutes: a deadline that has passed still lets every run validate once (so each
    has a best checkpoint to score), then stops it; the runs say why, the control is not
    converged (its only validation is its last), and a later cap is another control."""
    train, bench, bert = trec
    plan = ControlPlan.from_budget(str(bert), "scratch", "quick", learning_rates=(1e-4, 3e-3),
                                   epochs=3, max_steps=None, seeds=2,
                                   max_minutes=1e-9)  # fmt: skip
    result = run_control(plan, train, bench, task_of(bench, train), cache_dir=tmp_path)
    period = result.search[0]["period"]
    assert [row["steps"] for row in result.search] == [period, period]
    assert [row["out_of_time"] for row in result.search if row["chosen"]] == [True]
    runs = result.convergence["runs"]
    assert [run["steps"] for run in runs] == [period, period]  # seed 1 validated once too
    assert {run["stopped_by"] for run in runs} == {"time cap"}
    assert result.convergence["converged"] is False
    uncapped = ControlPlan.from_budget(str(bert), "scratch", "quick", learning_rates=(1e-4, 3e-3),
                                       epochs=3, max_steps=None, seeds=2)  # fmt: skip
    spec = task_of(bench, train)
    assert control_folder(plan, train, bench, spec) != control_folder(uncapped, train, bench, spec)
    with pytest.raises(InputError, match="--max-minutes"):
        ControlPlan.from_budget(str(bert), "scratch", "quick", max_minutes=0.0)


def curve_run(values: list[float], patience: int = 4, smoothing: int = 3):
    """A stand-in for `ControlSetup.train` replaying a fixed validation curve (period 25): the
    summary a run paused at `until` (or finished by early stopping, or at its end) returns."""

    def train(until: int | None = None) -> dict:
        curve, best, best_step, stale = [], -1.0, 0, 0
        for index, val in enumerate(values):
            step = 25 * (index + 1)
            window = values[max(0, index + 1 - smoothing) : index + 1]
            curve.append({"step": step, "val": val, "smoothed": sum(window) / len(window),
                          "train_loss": 1.0})  # fmt: skip
            if curve[-1]["smoothed"] > best:
                best, best_step, stale = curve[-1]["smoothed"], step, 0
            else:
                stale += 1
            finished = stale >= patience or index == len(values) - 1
            if finished or (until is not None and step >= until):
                break
        return {"curve": curve, "best_val": best, "best_step": best_step, "steps": step,
                "period": 25, "finished": finished}  # fmt: skip

    return train


def test_the_grace_period_keeps_a_fast_starter_that_ends_worse_from_winning() -> None:
    """Curves shaped like SST-2's pretrained controls at the quick budget: 5e-4 leads at the
    first validation and plateaus at 0.78; 5e-5 starts at chance and ends at 0.85."""
    fast = [0.75, 0.80, 0.75, 0.75, 0.80, 0.78, 0.76, 0.70, 0.79, 0.78, 0.76, 0.79]
    slow = [0.52, 0.54, 0.82, 0.82, 0.85, 0.85, 0.85, 0.85, 0.85, 0.86, 0.84, 0.83]
    runs = {5e-4: curve_run(fast), 5e-5: curve_run(slow)}

    def train(lr: float, until: int | None = None) -> dict:
        return runs[lr](until)

    assert successive_halving((5e-5, 5e-4), train)[0] == 5e-5
    assert successive_halving((5e-5, 5e-4), train, grace=1)[0] == 5e-4  # the old rung


def test_runs_trained_to_their_end_are_ranked_as_the_search_would_have_seen_them() -> None:
    """benchmarks/controls.py --jobs trains every rate to its end at once; the rate it keeps
    must be the one the search, pausing runs at its rungs, would have kept."""
    fast = [0.75, 0.80, 0.75, 0.75, 0.80, 0.78, 0.76, 0.70, 0.79, 0.78, 0.76, 0.79]
    slow = [0.52, 0.54, 0.82, 0.82, 0.85, 0.85, 0.85, 0.85, 0.85, 0.86, 0.84, 0.83]
    paused = {5e-4: curve_run(fast), 5e-5: curve_run(slow)}
    whole = [{"learning_rate": lr, **run()} for lr, run in paused.items()]
    assert all(row["finished"] for row in whole)
    for grace, expected in [(1, 5e-4), (8, 5e-5)]:  # ranked by their best, 5e-5 at any grace

        def train(lr: float, until: int | None = None) -> dict:
            return paused[lr](until)

        assert choose_rate(whole, grace=grace) == expected
        assert successive_halving((5e-5, 5e-4), train, grace=grace)[0] == expected


def test_successive_halving_trains_less_and_picks_the_clearly_best_rate(trec, tmp_path) -> None:
    train, bench, bert = trec
    rates = (1e-7, 3e-5, 3e-3)  # 1e-7 and 3e-5 barely move a randomly initialised model
    plan = ControlPlan.from_budget(str(bert), "scratch", "quick", learning_rates=rates,
                                   epochs=3, max_steps=None, patience=10)  # fmt: skip
    spec = task_of(bench, train)
    halving = prepare_control(plan, train, bench, spec, cache_dir=tmp_path / "sh")
    chosen, search = successive_halving(
        rates, lambda lr, until=None: halving.train(lr, 0, until=until), grace=1
    )
    grid = prepare_control(plan, train, bench, spec, cache_dir=tmp_path / "grid")
    full = [{"learning_rate": lr, **grid.train(lr, 0)} for lr in rates]
    assert chosen == choose_rate(full) == 3e-3
    assert sum(row["steps"] for row in search) < sum(row["steps"] for row in full)
    rungs = {row["learning_rate"]: row["rung"] for row in search}
    assert rungs[3e-3] == 2 and sorted(rungs.values()) == [0, 1, 2]  # one dropped per rung
    assert next(row for row in search if row["chosen"])["learning_rate"] == 3e-3


def test_the_gate_fails_a_report_with_an_unconverged_control(tmp_path) -> None:
    report = json.loads(GOLDEN.read_text())
    report["attribution"]["converged"] = {"scratch": False, "pretrained": True}
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    policy = tmp_path / "policy.toml"
    policy.write_text("[rules]\nrequire_converged_controls = true\n")
    result = CliRunner().invoke(app, ["gate", str(path), "--policy", str(policy)])
    assert result.exit_code == 1 and "FAIL require_converged_controls" in result.stdout
    assert "rerun with --budget full" in result.stdout  # the failing line says what it means
    report["attribution"]["converged"] = {"scratch": True, "pretrained": True}
    path.write_text(json.dumps(report))
    result = CliRunner().invoke(app, ["gate", str(path), "--policy", str(policy)])
    assert result.exit_code == 0, result.stdout


def test_the_default_policy_does_not_fail_an_easy_to_fit_task() -> None:
    """A high fitting share is an easy task, not a leak: it is opt-in, not a default rule."""
    from auditor.gate import DEFAULT_POLICY, load_policy

    rules = load_policy(DEFAULT_POLICY).rules.model_dump(exclude_none=True)
    assert "max_fitting_share" not in rules and rules["require_converged_controls"] is True


@pytest.mark.parametrize(("bound", "status"), [(None, "PASS"), ("upper", "PASS"),
                                               ("lower", "WARN"), ("unknown", "WARN")])  # fmt: skip
def test_the_gate_compares_the_fitting_share_only_when_it_is_bounded_above(
    tmp_path, bound, status
) -> None:
    """A fitting share bounded below, or either way (controls trained on a sample), gives the
    max_fitting_share rule no upper value: a warning, never a pass on an understated share."""
    report = json.loads(GOLDEN.read_text())
    report["attribution"]["shares"]["fitting"].update(value=0.1, low=0.05, high=0.2, bound=bound)
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    policy = tmp_path / "policy.toml"
    policy.write_text("[rules]\nmax_fitting_share = 0.5\n")
    result = CliRunner().invoke(app, ["gate", str(path), "--policy", str(policy)])
    assert f"{status} max_fitting_share" in result.stdout, result.stdout
