"""Controls and evaluation end to end on tiny models and small slices of real data."""

import json
from dataclasses import asdict, replace
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from auditor import controls
from auditor.cli import app
from auditor.controls import ControlPlan, control_folder, run_control, training
from auditor.controls.data import split
from auditor.loading import load_corpus
from auditor.models import build_from_config
from auditor.tasks import task_of
from tests.helpers import write_jsonl
from tests.models import tiny_bert, tiny_gpt2

runner = CliRunner()



@pytest.fixture(scope="module")
def trec(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trec")
    train, test = load_corpus("trec:train"), load_corpus("trec:test")

    def rows(corpus, n: int) -> list[dict]:
        pairs = zip(corpus.texts[:n], corpus.column("label")[:n], strict=True)
        return [{"text": text, "label": label} for text, label in pairs]

    train_path = write_jsonl(folder / "train.jsonl", rows(train, 400))
    bench_path = write_jsonl(folder / "bench.jsonl", rows(test, 100))
    return load_corpus(str(train_path)), load_corpus(str(bench_path)), bench_path


@pytest.fixture(scope="module")
def bert(tmp_path_factory) -> Path:
    return tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


def plan(base: Path, init: str, **overrides) -> ControlPlan:
    settings = {"learning_rates": (1e-3, 3e-3), "epochs": 2, "batch_size": 32}
    return ControlPlan.from_budget(str(base), init, "quick", **{**settings, **overrides})


@pytest.fixture(scope="module")
def both_controls(trec, bert, tmp_path_factory):
    train, bench, _ = trec
    cache = tmp_path_factory.mktemp("controls")
    spec = task_of(bench, train)
    return {init: run_control(plan(bert, init), train, bench, spec, cache_dir=cache)
            for init in ("scratch", "pretrained")}, cache  # fmt: skip


def test_controls_train_and_save_predictions(both_controls) -> None:
    results, _ = both_controls
    for result in results.values():
        chosen = next(r for r in result.search if r["learning_rate"] == result.learning_rate)
        curve = chosen["curve"]
        assert curve[-1]["train_loss"] < curve[0]["train_loss"]  # training reduces the loss
        assert len(result.items) == 100
        assert result.accuracy == pytest.approx(sum(i["correct"] for i in result.items) / 100)
        assert {"index", "prediction", "gold", "correct", "correct_by_seed"} <= set(result.items[0])
        config = json.loads((Path(result.checkpoint) / "config.json").read_text())
        assert list(config["id2label"].values()) == ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]
        assert (Path(result.checkpoint) / "model.safetensors").is_file()
        # the runs' weights and optimiser state are deleted once the result is written; the
        # records stay
        runs = Path(result.checkpoint).parent
        assert len(list(runs.glob("lr-*/state.json"))) == len(result.search)
        assert not [p for p in runs.glob("lr-*/*") if p.suffix in (".safetensors", ".pt")]
        assert result.convergence["sample"] is None  # 400 items, under the quick cap of 2,000


def test_a_control_capped_to_a_sample_records_it(trec, bert, tmp_path) -> None:
    train, bench, _ = trec
    capped = plan(bert, "scratch", learning_rates=(1e-3,), max_train_items=200, max_steps=2)
    result = run_control(capped, train, bench, task_of(bench, train), cache_dir=tmp_path)
    assert result.convergence["sample"] == {"items": 200, "of": 400}
    assert result.train_items + result.val_items == 200


def test_scratch_and_pretrained_differ_only_in_init_and_chosen_rate(both_controls, bert) -> None:
    results, _ = both_controls
    scratch, pretrained = results["scratch"].plan, results["pretrained"].plan
    assert {k for k in scratch if scratch[k] != pretrained[k]} == {"init"}
    assert results["scratch"].train_items == results["pretrained"].train_items
    assert [r["learning_rate"] for r in results["scratch"].search] == [
        r["learning_rate"] for r in results["pretrained"].search
    ]
    base = load_file(bert / "model.safetensors")
    scratch_model = build_from_config(str(bert), "classification", 0, num_labels=6)
    same = [name for name, w in scratch_model.bert.state_dict().items()
            if name in base and w.shape == base[name].shape and w.equal(base[name])]  # fmt: skip
    assert not [name for name in same if "weight" in name and "LayerNorm" not in name]


def test_finished_control_is_reused(both_controls, trec, bert, monkeypatch) -> None:
    results, cache = both_controls
    train, bench, _ = trec
    monkeypatch.setattr(training, "fit", lambda *a, **k: pytest.fail("retrained"))
    again = run_control(plan(bert, "scratch"), train, bench, task_of(bench, train), cache_dir=cache)
    assert asdict(again) == json.loads(json.dumps(asdict(results["scratch"]), default=str))


@pytest.mark.parametrize(
    ("eval_steps", "interrupt_at", "validated_at"),
    # 300 training items (100 validate): 10 steps an epoch, validated twice an epoch
    [(None, 12, [5, 10, 15, 20]), (3, 8, [3, 6, 9, 12, 15, 18, 20])],
)
def test_resume_continues_an_interrupted_run(
    trec, bert, tmp_path, eval_steps, interrupt_at, validated_at
) -> None:
    train, bench, _ = trec
    spec = task_of(bench, train)
    short = plan(bert, "scratch", learning_rates=(3e-3,), epochs=2, eval_steps=eval_steps,
                 patience=100)  # fmt: skip
    whole = run_control(short, train, bench, spec, cache_dir=tmp_path / "a")
    assert [point["step"] for point in whole.search[0]["curve"]] == validated_at

    def interrupt(stage: str, done: int, total: int) -> None:
        if "training" in stage and done == interrupt_at:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_control(short, train, bench, spec, cache_dir=tmp_path / "b", on_progress=interrupt)
    resumed = run_control(short, train, bench, spec, cache_dir=tmp_path / "b", resume=True)
    assert resumed.items == whole.items
    assert resumed.search[0]["curve"] == whole.search[0]["curve"]


def test_pretrained_control_trains_fp32_copies_of_bf16_weights(trec, bert, tmp_path) -> None:
    from transformers import AutoModel, AutoTokenizer

    half = tmp_path / "bf16"
    AutoModel.from_pretrained(bert).to(torch.bfloat16).save_pretrained(half)
    AutoTokenizer.from_pretrained(bert).save_pretrained(half)
    train, bench, _ = trec
    setup = controls.prepare_control(plan(half, "pretrained"), train, bench,
                                     task_of(bench, train), cache_dir=tmp_path)  # fmt: skip
    model = setup.fresh_model(0)
    saved = load_file(half / "model.safetensors")
    weights = model.bert.state_dict()
    assert {w.dtype for w in model.parameters()} == {torch.float32}
    name = "embeddings.word_embeddings.weight"
    assert saved[name].dtype == torch.bfloat16 and weights[name].equal(saved[name].float())


def test_eval_matches_the_control_and_checks_labels(both_controls, trec, tmp_path) -> None:
    results, _ = both_controls
    _, _, bench_path = trec
    checkpoint = results["pretrained"].checkpoint
    out = tmp_path / "eval.json"
    result = runner.invoke(app, ["eval", "--model", checkpoint, "--bench", str(bench_path),
                                 "--out", str(out), "-q"])  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["accuracy"] == pytest.approx(results["pretrained"].accuracy)
    assert [i["prediction"] for i in report["items"]] == [
        i["prediction"] for i in results["pretrained"].items
    ]
    mismatch = runner.invoke(app, ["eval", "--model", checkpoint, "--bench", "sst2:test"])
    assert mismatch.exit_code == 2
    assert "negative" in mismatch.output and "ABBR" in mismatch.output


def test_pickle_checkpoints_are_refused(both_controls, tmp_path) -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    results, _ = both_controls
    checkpoint = results["scratch"].checkpoint
    pickled = tmp_path / "pickled"
    model = AutoModelForSequenceClassification.from_pretrained(checkpoint)
    model.config.save_pretrained(pickled)
    torch.save(model.state_dict(), pickled / "pytorch_model.bin")
    AutoTokenizer.from_pretrained(checkpoint).save_pretrained(pickled)
    assert not list(pickled.glob("*.safetensors"))
    refused = runner.invoke(app, ["eval", "--model", str(pickled), "--bench", "trec:test"])
    assert refused.exit_code == 2 and "--allow-pickle" in refused.output
    allowed = runner.invoke(app, ["eval", "--model", str(pickled), "--bench", "trec:test",
                                  "--allow-pickle", "--format", "json"])  # fmt: skip
    assert allowed.exit_code == 0, allowed.output


def test_generation_control_and_eval(tmp_path) -> None:
    base = tiny_gpt2(tmp_path / "gpt2")
    gsm = load_corpus("gsm8k:train")
    pairs = zip(gsm.texts[:96], gsm.column("answer")[:96], strict=True)
    train_rows = [{"question": q, "answer": a} for q, a in pairs]
    train = load_corpus(str(write_jsonl(tmp_path / "train.jsonl", train_rows)))
    bench = load_corpus("gsm8k:test")
    bench_slice = write_jsonl(tmp_path / "bench.jsonl", [
        {"question": q, "answer": a}
        for q, a in zip(bench.texts[:6], bench.column("answer")[:6], strict=True)
    ])  # fmt: skip
    bench = load_corpus(str(bench_slice))
    spec = task_of(bench)
    assert spec.task == "generation"
    short = ControlPlan.from_budget(str(base), "scratch", "quick", learning_rates=(1e-3,),
                                    epochs=2, batch_size=16, max_length=192)  # fmt: skip
    result = run_control(short, train, bench, spec, cache_dir=tmp_path / "cache")
    curve = result.search[0]["curve"]
    assert curve[-1]["train_loss"] < curve[0]["train_loss"]
    assert len(result.items) == 6 and all("output" in item for item in result.items)
    cli = runner.invoke(app, ["eval", "--model", str(base), "--bench", str(bench_slice),
                              "--max-new-tokens", "4", "--format", "json"])  # fmt: skip
    assert cli.exit_code == 0, cli.output
    assert json.loads(cli.stdout)["task"] == "generation"


def test_split_seed_chooses_the_validation_items_and_the_cache_folder(trec, bert) -> None:
    train, bench, _ = trec
    spec = task_of(bench, train)
    default = plan(bert, "scratch")
    # the split of the README's measured figures; 2 of 20 items (10%) without the 400 minimum
    measured = replace(default, split_seed=1234, min_val_items=1)
    assert split(20, measured)[1].tolist() == [3, 9]
    reseeded = replace(default, split_seed=7, min_val_items=1)
    train_rows, val_rows = split(20, reseeded)
    assert val_rows.tolist() != [3, 9] and sorted([*train_rows, *val_rows]) == list(range(20))
    folders = {control_folder(p, train, bench, spec) for p in (default, reseeded)}
    assert len(folders) == 2


def test_control_cli_takes_the_split_seed(trec, bert, tmp_path) -> None:
    _, _, bench_path = trec
    args = ["control", "--base", str(bert), "--train", str(bench_path.parent / "train.jsonl"),
            "--bench", str(bench_path), "--init", "scratch", "--lr", "1e-3", "--max-steps", "1",
            "--cache-dir", str(tmp_path), "--format", "json", "-q"]  # fmt: skip
    reports = []
    for extra in ([], ["--seed", "7"]):
        result = runner.invoke(app, [*args, *extra])
        assert result.exit_code == 0, result.output
        reports.append(json.loads(result.stdout))
    assert [report["plan"]["split_seed"] for report in reports] == [0, 7]
    assert reports[0]["checkpoint"] != reports[1]["checkpoint"]


def test_an_encoder_cannot_generate_and_is_refused_at_once(bert, tmp_path) -> None:
    """`audit eval` and `audit run` on a generation benchmark with an encoder-only model exit 2
    before loading weights or training, instead of generating noise for minutes."""
    from auditor.models import is_causal_lm, load_config

    gpt2 = tiny_gpt2(tmp_path / "gpt2")
    assert is_causal_lm(load_config(str(gpt2))) and not is_causal_lm(load_config(str(bert)))
    gsm = load_corpus("gsm8k:test")
    rows = [{"question": q, "answer": a} for q, a in zip(gsm.texts[:3], gsm.column("answer")[:3],
                                                           strict=True)]  # fmt: skip
    bench = write_jsonl(tmp_path / "gsm.jsonl", rows)
    evaluated = runner.invoke(app, ["eval", "--model", str(bert), "--bench", str(bench)])
    assert evaluated.exit_code == 2 and "encoder-only model (bert)" in evaluated.output
    args = ["--bench", str(bench), "--train", str(bench), "--cache-dir", str(tmp_path / "c")]
    audited = runner.invoke(app, ["run", "--model", str(bert), *args, "-q"])
    assert audited.exit_code == 2
    assert "--base" in audited.output and "encoder-only" in audited.output
