"""What a control run keeps: smoothed early stopping, averaged checkpoints, the validation split,
length-grouped batches, and ties in the learning-rate search."""

import json
import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from auditor.controls import ControlPlan, prepare_control
from auditor.controls.checkpoints import Checkpoints, describe
from auditor.controls.data import split
from auditor.controls.search import rank
from auditor.controls.training import epoch_order
from auditor.loading import load_corpus
from auditor.tasks import task_of
from tests.models import tiny_bert


class Constant(torch.nn.Module):
    """A model whose one weight and one integer buffer are set by hand."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.full((2, 3), value))
        self.register_buffer("ids", torch.arange(3))


def test_the_best_window_is_averaged_and_its_best_checkpoint_kept_beside(tmp_path) -> None:
    files = Checkpoints(tmp_path, window=3)
    vals = [0.1, 0.5, 0.3, 0.4]
    for validation, value in enumerate([1.0, 2.0, 3.0, 4.0]):
        window = vals[max(0, validation - 2) : validation + 1]
        files.record(Constant(value), validation, best=validation in (0, 3), window_vals=window)
    averaged = load_file(files.averaged)
    assert torch.equal(averaged["weight"], torch.full((2, 3), 3.0))  # (2 + 3 + 4) / 3
    assert torch.equal(averaged["ids"], torch.arange(3))
    assert torch.equal(load_file(files.single)["weight"], torch.full((2, 3), 2.0))  # val 0.5
    files.record(Constant(10.0), 4, best=False, window_vals=[0.3, 0.4, 0.9])  # not a new best
    assert torch.equal(load_file(files.averaged)["weight"], torch.full((2, 3), 3.0))
    (tmp_path / "start").mkdir(), (tmp_path / "raw").mkdir()
    first = Checkpoints(tmp_path / "start", window=3)
    first.record(Constant(5.0), 0, best=True, window_vals=[0.2])  # a window not yet full
    first.record(Constant(7.0), 1, best=True, window_vals=[0.2, 0.2])
    assert torch.equal(load_file(first.averaged)["weight"], torch.full((2, 3), 6.0))
    assert torch.equal(load_file(first.single)["weight"], torch.full((2, 3), 7.0))  # ties: later
    raw = Checkpoints(tmp_path / "raw", window=1)
    raw.record(Constant(5.0), 0, best=True, window_vals=[0.2])
    raw.record(Constant(9.0), 1, best=False, window_vals=[0.1])
    assert raw.settle(Constant(0.0), lambda model: 1 / 0, 0.2) == {"kept": "best validation"}
    assert torch.equal(load_file(raw.best)["weight"], torch.full((2, 3), 5.0))
    assert not list(tmp_path.glob("**/*.partial.*"))


@pytest.mark.parametrize(
    ("target", "kept", "weight"), [(3.0, "averaged", 3.0), (2.0, "single", 2.0)]
)
def test_a_finished_run_keeps_the_average_unless_its_best_checkpoint_validates_higher(
    tmp_path, target, kept, weight
) -> None:
    """Validation here scores a weight by its closeness to `target`: the average (3.0) validates
    at 1.0 when the target is 3 (a tie with the single checkpoint keeps the average), at 0.0 when
    it is 2, below the single checkpoint (2.0, validated at 1.0)."""
    files = Checkpoints(tmp_path, window=3)
    for validation, value in enumerate([2.0, 3.0, 4.0]):
        files.record(
            Constant(value), validation, best=True, window_vals=[1.0, 0.0, 0.0][: validation + 1]
        )

    def validate(model) -> float:
        return 1.0 - abs(float(model.weight.detach().mean()) - target)

    model = Constant(0.0)
    for _ in range(2):  # settling twice (a resumed run) gives the same answer
        outcome = files.settle(model, validate, single_val=1.0)
        assert outcome["kept"] == kept and outcome["single_val"] == 1.0
        assert torch.equal(load_file(files.best)["weight"], torch.full((2, 3), weight))
        assert torch.equal(model.weight.detach(), torch.full((2, 3), weight))


@pytest.mark.parametrize(
    ("count", "val_fraction", "expected"),
    [(2000, 0.1, 400), (5452, 0.1, 546), (6920, 0.1, 692), (400, 0.1, 100), (2, 0.1, 1)],
)
def test_validation_split_size_rule(count, val_fraction, expected) -> None:
    """10% of the items, at least 400, at most a quarter of them (and at least one)."""
    plan = ControlPlan(base="b", init="scratch", val_fraction=val_fraction, max_train_items=None)
    train_rows, val_rows = split(count, plan)
    assert len(val_rows) == expected
    assert sorted([*train_rows, *val_rows]) == list(range(count))


def test_epoch_order_groups_lengths_and_covers_every_row_once() -> None:
    rng = np.random.default_rng(0)
    rows = np.arange(1000, 1640)
    lengths = rng.integers(5, 60, size=len(rows))
    by_row = dict(zip(rows.tolist(), lengths.tolist(), strict=True))
    first = epoch_order(rows, lengths, 32, seed=3, epoch=0)
    assert sorted(first.tolist()) == rows.tolist()
    assert np.array_equal(first, epoch_order(rows, lengths, 32, seed=3, epoch=0))
    assert not np.array_equal(first, epoch_order(rows, lengths, 32, seed=3, epoch=1))

    def padded(order: np.ndarray) -> float:
        return np.mean([max(by_row[r] for r in order[i : i + 32]) for i in range(0, 640, 32)])

    shuffled = rng.permutation(rows)
    assert padded(first) < 0.8 * padded(shuffled)  # random batches pad to near the maximum
    batch_maxima = [max(by_row[r] for r in first[i : i + 32]) for i in range(0, 640, 32)]
    assert batch_maxima != sorted(batch_maxima, reverse=True)  # batches are shuffled too


def _summary(best_val: float, loss: float) -> dict:
    return {"best_val": best_val, "curve": [{"train_loss": loss}]}


def test_search_ties_go_to_the_rate_whose_loss_falls() -> None:
    """At the first rung a scratch model may predict the majority class at every rate."""
    tied = {5e-5: _summary(0.5, 0.69), 5e-4: _summary(0.5, 0.41), 1e-3: _summary(0.45, 0.2)}
    assert rank(tied) == [5e-4, 5e-5, 1e-3]
    same = {5e-5: _summary(0.5, 0.69), 5e-4: _summary(0.5, 0.69)}
    assert rank(same) == [5e-5, 5e-4]  # then the smaller rate
    diverged = {5e-5: _summary(0.5, 0.69), 5e-4: _summary(0.5, math.nan)}
    assert rank(diverged) == [5e-5, 5e-4]


@pytest.fixture(scope="module")
def trec_slice(tmp_path_factory):
    folder = tmp_path_factory.mktemp("selection")
    train, test = load_corpus("trec:train"), load_corpus("trec:test")

    def write(name: str, corpus, n: int):
        rows = zip(corpus.texts[:n], corpus.column("label")[:n], strict=True)
        path = folder / name
        path.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in rows))
        return load_corpus(str(path))

    return write("train.jsonl", train, 400), write("bench.jsonl", test, 40), tiny_bert(folder / "b")


def test_a_run_stops_on_its_smoothed_curve_and_keeps_the_averaged_window(
    trec_slice, tmp_path
) -> None:
    train, bench, bert = trec_slice
    plan = ControlPlan.from_budget(str(bert), "scratch", "quick", learning_rates=(3e-3,),
                                   epochs=4, patience=2, smoothing=3)  # fmt: skip
    setup = prepare_control(plan, train, bench, task_of(bench, train), cache_dir=tmp_path)
    summary = setup.train(3e-3, 0)
    curve = summary["curve"]
    raw = [point["val"] for point in curve]
    for i, point in enumerate(curve):
        assert point["smoothed"] == pytest.approx(np.mean(raw[max(0, i - 2) : i + 1]))
    best = max(range(len(curve)), key=lambda i: (curve[i]["smoothed"], -i))
    assert summary["best_val"] == curve[best]["smoothed"]
    assert summary["best_step"] == curve[best]["step"]
    stopped_early = len(curve) - 1 - best >= plan.patience
    assert stopped_early or curve[-1]["step"] == summary["steps"] == 40  # 4 epochs of 10 steps
    assert summary["period"] == 5  # 300 training items: 10 steps an epoch, validated twice
    # the kept weights are the average of the window's three checkpoints: rerun the same run
    # with a window of one (same data order, dropout, steps) and average its raw checkpoints
    raw_plan = replace(plan, smoothing=1, patience=100)
    raw_setup = prepare_control(raw_plan, train, bench, task_of(bench, train),
                                cache_dir=tmp_path / "raw")  # fmt: skip
    states = []
    for index in range(best + 1):
        partial = raw_setup.train(3e-3, 0, until=curve[index]["step"])
        assert partial["curve"][-1]["val"] == pytest.approx(raw[index], abs=1e-6)
        states.append(load_file(raw_setup.folder / "lr-0.003-seed-0" / "window-0.safetensors"))
    window = states[max(0, best - 2) :]
    kept = load_file(setup.folder / "lr-0.003-seed-0" / "best.safetensors")
    outcome = summary["kept"]
    assert outcome["single_val"] == max(raw[max(0, best - 2) : best + 1])
    if outcome["kept"] == "averaged":
        assert outcome["averaged_val"] >= outcome["single_val"]
        expected = {key: torch.stack([state[key] for state in window]).mean(dim=0)
                    for key in kept if kept[key].is_floating_point()}  # fmt: skip
    else:
        assert outcome["averaged_val"] < outcome["single_val"]
        top = max(range(len(window)), key=lambda k: (raw[max(0, best - 2) + k], k))
        expected = {key: window[top][key] for key in kept if kept[key].is_floating_point()}
    for key, value in expected.items():
        assert torch.allclose(kept[key], value, atol=1e-6), key


def test_the_selection_rule_is_said_in_words() -> None:
    assert "trailing mean of 3 validations" in describe(2, 3, 4)
    assert "twice an epoch" in describe(2, 3, 4) and "after 4 validations" in describe(2, 3, 4)
    assert "weights of the best validation" in describe(1, 1, 3)
