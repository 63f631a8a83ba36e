"""The self-pretrained control: what its pretraining reads, that it learns, that fine-tuning starts
from it, that it happens once, and the CLI."""

import json
from collections import Counter
from dataclasses import asdict, replace
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from typer.testing import CliRunner

from auditor.cli import app
from auditor.controls import (
    ControlPlan,
    control_folder,
    prepare_control,
    run_control,
    selfpretrain,
    training,
)
from auditor.controls.training import silent
from auditor.errors import InputError
from auditor.loading import load_corpus
from auditor.models import build_from_config
from auditor.tasks import task_of
from tests.models import tiny_bert, tiny_gpt2
from tests.test_controls import write_jsonl

runner = CliRunner()


@pytest.fixture(scope="module")
def trec(tmp_path_factory):
    """200 TREC training questions, and 40 test questions that are not among them."""
    folder = tmp_path_factory.mktemp("trec")
    train, test = load_corpus("trec:train"), load_corpus("trec:test")
    train_rows = [{"text": text, "label": label}
                  for text, label in zip(train.texts[:200], train.column("label")[:200],
                                         strict=True)]  # fmt: skip
    seen = {row["text"] for row in train_rows}
    bench_rows = [{"text": text, "label": label}
                  for text, label in zip(test.texts, test.column("label"), strict=True)
                  if text not in seen][:40]  # fmt: skip
    train_path = write_jsonl(folder / "train.jsonl", train_rows)
    bench_path = write_jsonl(folder / "bench.jsonl", bench_rows)
    return load_corpus(str(train_path)), load_corpus(str(bench_path)), train_path, bench_path


@pytest.fixture(scope="module")
def bert(tmp_path_factory) -> Path:
    return tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


def plan(base: Path, **overrides) -> ControlPlan:
    # 200 items: 180 train (6 steps of 32 an epoch), 20 validate (10%, no 400-item minimum).
    settings = {"learning_rates": (3e-3,), "epochs": 1, "pretrain_steps": 6,
                "pretrain_lr": 2e-3, "min_val_items": 1}  # fmt: skip
    return ControlPlan.from_budget(
        str(base), "selfpretrained", "quick", **{**settings, **overrides}
    )


def record_pretraining_batches(monkeypatch) -> list[tuple[int, ...]]:
    """Every token-id row handed to the pretraining objective (the real collator still runs)."""
    seen: list[tuple[int, ...]] = []
    real = selfpretrain.make_collator

    def recording(*args, **kwargs):
        collate = real(*args, **kwargs)

        def collate_and_record(rows):
            seen.extend(tuple(row) for row in rows)
            return collate(rows)

        return collate_and_record

    monkeypatch.setattr(selfpretrain, "make_collator", recording)
    return seen


def test_pretraining_reads_exactly_the_training_rows(trec, bert, tmp_path, monkeypatch) -> None:
    train, bench, _, _ = trec
    setup = prepare_control(plan(bert), train, bench, task_of(bench, train), cache_dir=tmp_path)
    seen = record_pretraining_batches(monkeypatch)
    stages = []
    setup.fresh_model(0, lambda *stage: stages.append(stage))  # pretrains: 6 steps, one pass
    assert stages[-1] == ("pretraining selfpretrained control on the training text (seed 0)", 6, 6)
    training_ids = Counter(tuple(setup.examples[row]["input_ids"]) for row in setup.train_rows)
    assert len(seen) == len(setup.train_rows) == 180
    assert Counter(seen) == training_ids
    validation_only = {tuple(setup.examples[r]["input_ids"]) for r in setup.val_rows} - set(seen)
    assert len(validation_only) >= 15  # (TREC repeats a few questions: those train as well)
    assert not validation_only & set(seen)
    encoded = setup.tokenizer(bench.texts, truncation=True, max_length=setup.plan.max_length)
    bench_ids = {tuple(ids) for ids in encoded["input_ids"]}
    assert len(bench_ids) == 40 and not bench_ids & set(seen)


def test_masked_lm_loss_falls_on_a_tiny_bert(trec, bert, tmp_path) -> None:
    train, bench, _, _ = trec
    masked = plan(bert, pretrain_steps=12, pretrain_lr=5e-3)
    setup = prepare_control(masked, train, bench, task_of(bench, train), cache_dir=tmp_path)
    selfpretrain.backbone(setup, 0, silent)
    log = json.loads((selfpretrain.folder(setup, 0) / "pretraining.json").read_text())
    assert log["objective"] == "masked" and log["rows"] == 180 and log["steps"] == 12
    curve = [point["loss"] for point in log["loss_curve"]]  # one point a step
    assert sum(curve[-3:]) / 3 < sum(curve[:3]) / 3 - 1.0, curve  # from ln(30522) = 10.3


def test_causal_lm_loss_falls_on_a_tiny_gpt2(tmp_path) -> None:
    base = tiny_gpt2(tmp_path / "gpt2")
    gsm = load_corpus("gsm8k:train")
    rows = [{"question": q, "answer": a}
            for q, a in zip(gsm.texts[:80], gsm.column("answer")[:80], strict=True)]  # fmt: skip
    train = load_corpus(str(write_jsonl(tmp_path / "train.jsonl", rows[:72])))
    bench = load_corpus(str(write_jsonl(tmp_path / "bench.jsonl", rows[72:])))
    spec = task_of(bench)
    gen = ControlPlan.from_budget(str(base), "selfpretrained", "quick", learning_rates=(1e-3,),
                                  batch_size=8, max_length=64, pretrain_steps=12,
                                  pretrain_lr=5e-3)  # fmt: skip
    setup = prepare_control(gen, train, bench, spec, cache_dir=tmp_path / "cache")
    model = setup.fresh_model(0)
    log = json.loads((selfpretrain.folder(setup, 0) / "pretraining.json").read_text())
    assert log["objective"] == "causal"
    curve = [point["loss"] for point in log["loss_curve"]]
    assert sum(curve[-3:]) / 3 < sum(curve[:3]) / 3 - 1.0, curve
    saved = load_file(selfpretrain.folder(setup, 0) / "backbone.safetensors")
    weights = model.state_dict()  # a generation control takes the whole language model
    assert all(weights[name].equal(value) for name, value in saved.items())


def test_fine_tuning_starts_from_the_pretrained_backbone(trec, bert, tmp_path, monkeypatch) -> None:
    train, bench, _, _ = trec
    spec = task_of(bench, train)
    setup = prepare_control(plan(bert), train, bench, spec, cache_dir=tmp_path)
    starts = []
    real_fit = training.fit

    def recording_fit(model, *args, **kwargs):
        starts.append({k: v.clone() for k, v in model.base_model.state_dict().items()})
        return real_fit(model, *args, **kwargs)

    monkeypatch.setattr(training, "fit", recording_fit)
    setup.train(3e-3, 0)
    (start,) = starts
    saved = load_file(selfpretrain.folder(setup, 0) / "backbone.safetensors")
    assert set(start) - set(saved) == {"pooler.dense.weight", "pooler.dense.bias"}
    assert all(start[name].equal(value) for name, value in saved.items())
    scratch = build_from_config(str(bert), "classification", 0, **setup.task.head_overrides(spec))
    scratch_weights = scratch.base_model.state_dict()
    changed = [name for name in saved if not scratch_weights[name].equal(saved[name])]
    assert "embeddings.word_embeddings.weight" in changed
    assert len(changed) >= len(saved) - 2  # every matrix moved (a LayerNorm might barely)


def test_a_backbone_that_does_not_fit_is_refused(trec, bert, tmp_path) -> None:
    train, bench, _, _ = trec
    setup = prepare_control(plan(bert), train, bench, task_of(bench, train), cache_dir=tmp_path)
    path = selfpretrain.backbone(setup, 0, silent)
    weights = load_file(path)
    save_file({**weights, "stray.weight": torch.zeros(2)}, path)
    with pytest.raises(InputError, match="unexpected.*stray.weight"):
        setup.fresh_model(0)
    del weights["encoder.layer.0.output.dense.weight"]
    save_file(weights, path)
    with pytest.raises(InputError, match="missing.*encoder.layer.0.output.dense.weight"):
        setup.fresh_model(0)


def test_the_backbone_is_pretrained_once_and_reused(trec, bert, tmp_path, monkeypatch) -> None:
    train, bench, _, _ = trec
    spec = task_of(bench, train)
    two_seeds = plan(bert, seeds=2)  # the search trains seed 0 in two calls, then seed 1
    calls = []
    real = selfpretrain.pretrain
    monkeypatch.setattr(selfpretrain, "pretrain", lambda *a: calls.append(a[1]) or real(*a))
    first = run_control(two_seeds, train, bench, spec, cache_dir=tmp_path / "whole")
    assert sorted(calls) == [0, 1]  # once per seed, across the search, the seeds and scoring
    # A control interrupted after pretraining its backbones, before any fine-tuning: resumed,
    # it fine-tunes from the saved backbones and never pretrains again.
    interrupted = prepare_control(two_seeds, train, bench, spec, cache_dir=tmp_path / "cut")
    for seed in (0, 1):
        interrupted.fresh_model(seed)
    monkeypatch.setattr(selfpretrain, "pretrain", lambda *a: pytest.fail("pretrained again"))
    again = run_control(two_seeds, train, bench, spec, cache_dir=tmp_path / "cut", resume=True)
    assert again.accuracy_by_seed == first.accuracy_by_seed
    assert again.items == first.items


def test_only_the_selfpretrained_key_holds_the_pretraining_settings(trec, bert) -> None:
    train, bench, _, _ = trec
    spec = task_of(bench, train)
    scratch = ControlPlan.from_budget(str(bert), "scratch", "quick")
    assert scratch.pretrain_steps == 0
    assert control_folder(scratch, train, bench, spec) == control_folder(
        replace(scratch, pretrain_lr=1e-3), train, bench, spec
    )
    default = ControlPlan.from_budget(str(bert), "selfpretrained", "quick")
    assert default.pretrain_steps == 300
    assert control_folder(default, train, bench, spec) != control_folder(
        replace(default, pretrain_steps=301), train, bench, spec
    )
    with pytest.raises(InputError, match="only the selfpretrained"):
        ControlPlan.from_budget(str(bert), "scratch", "quick", pretrain_steps=5)


def test_control_cli_trains_a_selfpretrained_control(trec, bert, tmp_path) -> None:
    _, _, train_path, bench_path = trec
    args = ["control", "--base", str(bert), "--train", str(train_path), "--bench",
            str(bench_path), "--init", "selfpretrained", "--lr", "3e-3", "--max-steps", "3",
            "--pretrain-steps", "4", "--cache-dir", str(tmp_path),
            "--format", "json", "-q"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["plan"]["init"] == "selfpretrained" and report["plan"]["pretrain_steps"] == 4
    assert 0 <= report["accuracy"] <= 1 and len(report["items"]) == 40
    pretrained = Path(report["checkpoint"]).parent / "selfpretrain-seed-0"
    assert (pretrained / "pretraining.json").is_file()  # its log stays, its weights are pruned
    assert not (pretrained / "backbone.safetensors").exists()
    table = runner.invoke(app, args[:-3])  # the same control, cached, as a table
    assert table.exit_code == 0, table.output
    assert "selfpretrained control of" in table.output and "Benchmark accuracy" in table.output
    refused = runner.invoke(app, [*args[:7], "--init", "scratch", "--pretrain-steps", "4"])
    assert refused.exit_code == 2 and "only the selfpretrained" in refused.output
    assert asdict(ControlPlan.from_budget(str(bert), "selfpretrained"))["pretrain_steps"] == 300
