"""Which checkpoint should a control keep? Selection rules measured on real training curves.

A control keeps the weights its validation split prefers. With a small split (200 items at the
quick budget: one item is half a point) and a scratch model whose validation accuracy wobbles
by several points from one validation to the next, the raw best validation picks a lucky
checkpoint as often as a good one. This experiment trains scratch (and pretrained) MiniLM
controls on TREC and SST-2 at the quick budget's data size for a fixed long schedule, validating
twice an epoch, and at every validation records, for three sets of weights (the run's own, the
average of the last `WINDOW` checkpoints, an exponential moving average of the weights), the
correctness of every validation item and the benchmark accuracy. Offline it then replays the
selection rules, split sizes and patience values on those records:

- `raw`: the checkpoint of the best validation score (the rule before this measurement);
- `smoothed`: the checkpoint ending the best trailing mean of `WINDOW` validations;
- `averaged`: the weights averaged over that best window (checkpoint averaging);
- `ema-D`: the moving average (decay D per step) at its best validation;

each with early stopping after `patience` validations without a gain of the curve it selects
on, and with validation on the first 200 or all 400 held-out items. What matters is the
benchmark accuracy of the kept weights: its mean (higher: less under-trained) and its spread
over seeds (lower: less luck). The benchmark is never used to choose anything here.

    python -m benchmarks.selection [--benchmarks trec sst2] [--seeds 0 1 2] [--epochs 12]
        [--json benchmarks/results/selection-cpu.json]
"""

import argparse
import json
import time
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np
import torch

from auditor.cache import atomic_write_text
from auditor.controls import ControlPlan, prepare_control
from auditor.controls.training import autocast_for, epoch_order, optimizer_and_schedule, step
from auditor.loading import load_corpus
from auditor.tasks import task_of

WINDOW = 3
EMA_DECAYS = (0.98,)
"""Half-life 34 steps: about two thirds of an epoch at the quick budget's 1,600 items."""
SPLIT_SIZES = (200, 400)
PATIENCE = (3, 4, 6, None)
RATES = {"scratch": 3e-4, "pretrained": 5e-5}


@dataclass
class Weights:
    """A set of weights tracked beside the run, and what it scored at each validation."""

    name: str
    val: list[str]
    """Per validation: each held-out item's correctness as a string of 0/1."""
    bench: list[float]


def _state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@torch.inference_mode()
def _val_correct(model, task, examples, pad_id) -> str:
    model.eval()
    marks = []
    for start in range(0, len(examples), 64):
        batch = task.collate(examples[start : start + 64], pad_id)
        logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits
        marks.extend((logits.argmax(-1) == batch["labels"]).int().tolist())
    return "".join(map(str, marks))


def _score_with(model, state, score) -> tuple[str, float]:
    """Score `model` with `state` loaded, then put its own weights back."""
    own = _state(model)
    model.load_state_dict(state)
    result = score(model)
    model.load_state_dict(own)
    return result


def train_and_record(name: str, init: str, seed: int, epochs: int, cache: Path) -> dict:
    train, bench = load_corpus(f"{name}:train"), load_corpus(f"{name}:test")
    spec = task_of(bench, train)
    plan = ControlPlan.from_budget("minilm", init, "quick", epochs=epochs, max_steps=None,
                                   split_seed=seed, min_val_items=max(SPLIT_SIZES))  # fmt: skip
    setup = prepare_control(plan, train, bench, spec, cache_dir=cache)
    task, tokenizer, pad_id = setup.task, setup.tokenizer, setup.tokenizer.pad_token_id
    # In a seeded random order, so that the first 200 are a random split of their own.
    shuffled = np.random.default_rng(seed).permutation(setup.val_rows)
    examples = [setup.examples[i] for i in shuffled]
    model = setup.fresh_model(seed)
    steps_per_epoch = -(-len(setup.train_rows) // plan.batch_size)
    period = -(-steps_per_epoch // 2)
    total = steps_per_epoch * epochs
    optimizer, schedule = optimizer_and_schedule(model, RATES[init], plan, total)
    autocast = autocast_for(setup.device)
    lengths = np.array([len(setup.examples[i]["input_ids"]) for i in setup.train_rows])
    emas = {decay: _state(model) for decay in EMA_DECAYS}
    window: list[dict[str, torch.Tensor]] = []
    tracks = {key: Weights(key, [], []) for key in ["run", "averaged", *map(_ema, EMA_DECAYS)]}

    def score(model) -> tuple[str, float]:
        with autocast:  # as the controls train (bf16 where native): 1.4x faster evaluations
            bench_accuracy = task.evaluate(model, tokenizer, bench, spec).accuracy
            return _val_correct(model, task, examples, pad_id), bench_accuracy

    torch.manual_seed(seed)
    done, losses, started = 0, [], time.perf_counter()
    while done < total:
        model.train()
        for _ in range(min(period, total - done)):
            epoch, offset = divmod(done, steps_per_epoch)
            if offset == 0:
                order = epoch_order(setup.train_rows, lengths, plan.batch_size, seed, epoch)
            rows = order[offset * plan.batch_size : (offset + 1) * plan.batch_size]
            batch = task.collate([setup.examples[i] for i in rows], pad_id)
            losses.append(float(step(model, batch, optimizer, schedule, autocast)))
            done += 1
            with torch.no_grad():
                for decay, ema in emas.items():
                    rate = min(decay, (1 + done) / (10 + done))  # the usual warm-up of an EMA
                    for key, value in model.state_dict().items():
                        if value.dtype.is_floating_point:
                            ema[key].mul_(rate).add_(value, alpha=1 - rate)
        window = [*window[-(WINDOW - 1) :], _state(model)]
        averaged = {k: torch.stack([w[k].float() for w in window]).mean(0).to(v.dtype)
                    for k, v in window[-1].items()}  # fmt: skip
        for key, state in [("run", None), ("averaged", averaged),
                           *((_ema(d), emas[d]) for d in EMA_DECAYS)]:  # fmt: skip
            val, bench_accuracy = (score(model) if state is None
                                   else _score_with(model, state, score))  # fmt: skip
            tracks[key].val.append(val)
            tracks[key].bench.append(bench_accuracy)
        print(
            f"  {name} {init} seed {seed} step {done}/{total}: val "
            f"{np.mean([int(c) for c in tracks['run'].val[-1]]):.3f} bench "
            f"{tracks['run'].bench[-1]:.3f} ({time.perf_counter() - started:.0f}s)",
            flush=True,
        )
    return {"benchmark": name, "init": init, "seed": seed, "learning_rate": RATES[init],
            "epochs": epochs, "period": period, "steps": total,
            "train_items": len(setup.train_rows), "val_items": len(examples),
            "seconds": round(time.perf_counter() - started, 1),
            "tracks": {key: {"val": t.val, "bench": t.bench}
                       for key, t in tracks.items()}}  # fmt: skip


def _ema(decay: float) -> str:
    return f"ema-{decay:g}"


def _curve(val: list[str], size: int) -> np.ndarray:
    return np.array([np.mean([int(c) for c in marks[:size]]) for marks in val])


def select(run: dict, rule: str, size: int, patience: int | None) -> dict[str, Any]:
    """Replay one selection rule on a recorded run: where it stops and what it keeps."""
    tracks = run["tracks"]
    source = rule if rule.startswith("ema") else "run"
    raw = _curve(tracks[source]["val"], size)
    if rule in ("smoothed", "averaged"):
        curve = np.array([raw[max(0, i - WINDOW + 1) : i + 1].mean() for i in range(len(raw))])
    else:
        curve = raw
    best, stale, stop = 0, 0, len(curve) - 1
    for i in range(1, len(curve)):
        if curve[i] > curve[best]:
            best, stale = i, 0
        else:
            stale += 1
        if patience is not None and stale >= patience:
            stop = i
            break
    kept = "averaged" if rule == "averaged" else source
    return {"bench": tracks[kept]["bench"][best], "best": best, "stop": stop}


def summarise(runs: list[dict]) -> list[dict]:
    rules = ["raw", "smoothed", "averaged", *map(_ema, EMA_DECAYS)]
    rows = []
    groups = sorted({(r["benchmark"], r["init"]) for r in runs})
    for (name, init), rule, size, patience in product(groups, rules, SPLIT_SIZES, PATIENCE):
        chosen = [select(r, rule, size, patience)
                  for r in runs if (r["benchmark"], r["init"]) == (name, init)]  # fmt: skip
        scores = [c["bench"] for c in chosen]
        rows.append({"benchmark": name, "init": init, "rule": rule, "val_items": size,
                     "patience": patience, "mean": float(np.mean(scores)),
                     "std": float(np.std(scores)), "by_seed": scores,
                     "stopped_at": [c["stop"] for c in chosen]})  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmarks", nargs="+", default=["trec", "sst2"])
    parser.add_argument("--inits", nargs="+", default=["scratch"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--cache-dir", type=Path, default=Path("/tmp/audit-selection"))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    runs = []
    if args.json and args.json.is_file():  # resume: keep the runs already recorded
        runs = json.loads(args.json.read_text())["runs"]
    for name, init, seed in product(args.benchmarks, args.inits, args.seeds):
        if any((r["benchmark"], r["init"], r["seed"]) == (name, init, seed) for r in runs):
            continue
        runs.append(train_and_record(name, init, seed, args.epochs, args.cache_dir))
        if args.json:
            atomic_write_text(args.json, json.dumps({"runs": runs}, indent=None))
    rows = summarise(runs)
    if args.json:
        atomic_write_text(args.json, json.dumps({"runs": runs, "summary": rows}))
    print(
        "\n| benchmark | control | rule | val items | patience | benchmark accuracy "
        "(mean ± std over seeds) | stopped at validation |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print("| {benchmark} | {init} | {rule} | {val_items} | {patience} | {mean:.3f} ± "
              "{std:.3f} | {stopped_at} |".format(**row))  # fmt: skip


if __name__ == "__main__":
    main()
