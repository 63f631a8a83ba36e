"""The controls experiment: scratch and pretrained MiniLM controls on TREC and SST-2.

Not a test: a reproducible experiment (arXiv 2606.07527's design) at the full budget (every
training item, learning-rate search (2e-5 .. 1e-3) on a 10% validation split, up to 20 epochs with
early stopping), over several seeds, printing each control's benchmark accuracy with its seed
spread beside the majority-class baseline. Published references for orientation: Kim (2014)'s
CNN from random initialisation reaches 91.2 (TREC) and 82.7 (SST-2); fine-tuned BERT-base about
97 and 93. Run on a GPU (`--device cuda`); on 2 CPU cores it takes hours.

`--jobs N` trains up to N runs (learning rate x seed x control) at once in separate processes:
one run of a 22M-parameter model at batch 32 leaves most of a GPU idle, so one GPU trains many
at once. Every run checkpoints into the control's cache folder, so an interrupted experiment
continues where it stopped when started again with the same arguments.

    python -m benchmarks.controls [--budget full] [--seeds 3] [--device auto] [--jobs 8]
        [--json OUT] [--compare OTHER.json]   # fitting shares beside another run's
    python -m benchmarks.controls --results OUT --compare OTHER.json   # no training
    python -m benchmarks.controls --results OUT --grace   # the search's grace period, replayed

The README's table came from `python -m benchmarks.controls --device cuda --jobs 20` on one H100
with the CUDA MPS daemon running (`nvidia-cuda-mps-control -d`), in about 3.5 minutes.
"""

import argparse
import json
import os
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict
from functools import cache
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from auditor.cache import atomic_write_text
from auditor.controls import INITS, ControlPlan, choose_rate, prepare_control, run_control
from auditor.loading import load_corpus
from auditor.tasks import task_of


@cache
def _data(name: str):
    train, bench = load_corpus(f"{name}:train"), load_corpus(f"{name}:test")
    return train, bench, task_of(bench, train)


def _plan(args: argparse.Namespace, init: str) -> ControlPlan:
    return ControlPlan.from_budget(args.base, init, args.budget, seeds=args.seeds,
                                   learning_rates=args.lr, epochs=args.epochs,
                                   patience=args.patience,
                                   split_seed=args.split_seed)  # fmt: skip


@cache
def _setup(args_json: str, name: str, init: str):
    args = argparse.Namespace(**json.loads(args_json))
    train, bench, spec = _data(name)
    return prepare_control(_plan(args, init), train, bench, spec, cache_dir=args.cache_dir,
                           device=args.device, resume=True)  # fmt: skip


def _train(args_json: str, name: str, init: str, lr: float, seed: int) -> dict[str, Any]:
    """One training run in a worker process; its summary (cached runs return at once)."""
    import torch

    torch.set_num_threads(1)
    started = time.perf_counter()
    summary = _setup(args_json, name, init).train(lr, seed)
    return {"benchmark": name, "init": init, "learning_rate": lr, "seed": seed,
            "seconds": round(time.perf_counter() - started, 1), **summary}  # fmt: skip


def _score(args_json: str, name: str, init: str) -> dict[str, Any]:
    """Score a control whose runs are all trained (run_control finds them in the cache)."""
    args = argparse.Namespace(**json.loads(args_json))
    train, bench, spec = _data(name)
    result = run_control(_plan(args, init), train, bench, spec, cache_dir=args.cache_dir,
                         device=args.device, resume=True)  # fmt: skip
    labels = bench.column("label")
    majority = Counter(labels).most_common(1)[0][1] / len(labels)
    return {"benchmark": name, "init": init, "accuracy": result.accuracy,
            "std": result.accuracy_std, "by_seed": result.accuracy_by_seed,
            "learning_rate": result.learning_rate, "majority": majority,
            "search": [{k: v for k, v in row.items() if k != "curve"} for row in result.search],
            "train_items": result.train_items, "val_items": result.val_items,
            "plan": result.plan, "provenance": result.provenance}  # fmt: skip


def _in_parallel(args: argparse.Namespace, args_json: str, report) -> None:
    """Learning-rate search runs first (in the order of --benchmarks), then each control's other
    seeds at its chosen rate (at once when there is one rate to search), then its scoring; up to
    `--jobs` processes at a time."""
    rates = _plan(args, "scratch").learning_rates
    context = get_context("spawn")  # CUDA cannot be used in forked workers
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=context) as pool:
        running: dict[Future, tuple[str, str, str]] = {}

        def seeds_at(rate: float, name: str, init: str) -> None:
            for seed in range(1, args.seeds):
                future = pool.submit(_train, args_json, name, init, rate, seed)
                running[future] = ("seed", name, init)

        for name in args.benchmarks:
            for init in args.inits:
                for lr in rates:
                    future = pool.submit(_train, args_json, name, init, lr, 0)
                    running[future] = ("search", name, init)
                if len(rates) == 1:
                    seeds_at(rates[0], name, init)
        searched: dict[tuple[str, str], list[dict]] = {}
        seeded: Counter = Counter()
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                kind, name, init = running.pop(future)
                outcome = future.result()
                report(kind, outcome)
                if kind == "score":
                    continue
                if kind == "search":
                    searched.setdefault((name, init), []).append(outcome)
                    if len(searched[name, init]) == len(rates) > 1:
                        seeds_at(choose_rate(searched[name, init]), name, init)
                else:
                    seeded[name, init] += 1
                searching = len(searched.get((name, init), [])) < len(rates)
                if not searching and seeded[name, init] == args.seeds - 1:
                    running[pool.submit(_score, args_json, name, init)] = ("score", name, init)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", default="full")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--benchmarks", nargs="+", default=["sst2", "trec"])
    parser.add_argument("--inits", nargs="+", default=["scratch", "pretrained"], choices=INITS,
                        help="controls to run (selfpretrained is opt-in: it pretrains first)")
    parser.add_argument("--base", default="minilm", help="base model (a folder, hf:ORG/NAME)")
    parser.add_argument("--lr", nargs="+", type=float, default=None, help="rates to search")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per run")
    parser.add_argument("--patience", type=int, default=None, help="validations without gain")
    parser.add_argument("--jobs", type=int, default=1, help="training runs at once")
    parser.add_argument("--split-seed", type=int, default=1234,
                        help="validation split seed (1234: the README's measured figures)")
    parser.add_argument("--cache-dir", default=None, help="where controls are cached")
    parser.add_argument("--json", type=Path, default=None, help="write every result here")
    parser.add_argument("--results", type=Path, default=None,
                        help="a finished run's --json: print its tables instead of training")
    parser.add_argument("--compare", type=Path, default=None,
                        help="another run's --json: print both fitting shares side by side")
    parser.add_argument("--grace", action="store_true",
                        help="print the rate successive halving keeps at each grace period, "
                             "replayed on the recorded seed-0 curves")  # fmt: skip
    args = parser.parse_args()
    args_json = json.dumps(vars(args), default=str)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    started = time.perf_counter()
    results: dict[str, list] = {"runs": [], "controls": []}

    def report(kind: str, outcome: dict[str, Any]) -> None:
        elapsed = time.perf_counter() - started
        if kind == "score":
            results["controls"].append(outcome)
            line = ("{benchmark} {init}: accuracy {accuracy:.3f} ± {std:.3f} (lr "
                    "{learning_rate:g}; majority class {majority:.3f})")  # fmt: skip
            print(f"[{elapsed:6.0f}s] " + line.format(**outcome), flush=True)
        else:
            results["runs"].append(outcome)
            line = (
                "{benchmark} {init} lr {learning_rate:g} seed {seed}: validation "
                "{best_val:.4f} at epoch {best_epoch:g}, {steps} steps in {seconds:.0f}s"
            )
            print(f"[{elapsed:6.0f}s] " + line.format(**outcome), flush=True)
        if args.json:
            atomic_write_text(args.json, json.dumps(results, indent=1, default=str))

    if args.results:
        results = json.loads(args.results.read_text())
    elif args.jobs > 1:
        _in_parallel(args, args_json, report)
    else:
        for name in args.benchmarks:
            for init in args.inits:
                report("score", _score(args_json, name, init))
    print(f"\nPlan: {json.dumps(asdict(_plan(args, 'scratch')))}")
    print("\n| benchmark | control | accuracy | seed std | learning rate | majority class |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in sorted(results["controls"], key=lambda r: (r["benchmark"], r["init"])):
        print("| {benchmark} | {init} | {accuracy:.3f} | {std:.3f} | {learning_rate:g} | "
              "{majority:.3f} |".format(**row))  # fmt: skip
    if args.compare:
        compare(results["controls"], args.compare)
    if args.grace:
        grace_table(results["runs"])


def fitting_shares(controls: list[dict]) -> dict[str, float]:
    """Each benchmark's fitting share with the pretrained control as the candidate (a base
    model with no head is scored as its fine-tuned self, as in `make demo`):
    (scratch - chance) / (pretrained - chance)."""
    accuracy = {(row["benchmark"], row["init"]): row["accuracy"] for row in controls}
    shares = {}
    for name in {row["benchmark"] for row in controls}:
        if {(name, "scratch"), (name, "pretrained")} <= accuracy.keys():
            chance = _data(name)[2].chance
            gain = accuracy[name, "pretrained"] - chance
            shares[name] = (accuracy[name, "scratch"] - chance) / gain
    return shares


GRACES = range(1, 13)


def grace_table(runs: list[dict], smoothing: int = 3) -> None:
    """For each control, the rate `choose_rate` (successive halving replayed on whole runs)
    keeps at each grace period, beside the rate whose run has the best smoothed validation.
    Records from before the smoothed curve (the H100 runs: raw validations once an epoch) get
    the trailing mean of `smoothing` validations computed here, their period from the first
    validation's step; every recorded run had finished."""
    controls: dict[tuple[str, str], list[dict]] = {}
    for run in runs:
        if run["seed"] != 0:
            continue
        raw = [point["val"] for point in run["curve"]]
        curve = [{**point, "smoothed": point.get("smoothed", float(np.mean(
            raw[max(0, k + 1 - smoothing) : k + 1])))} for k, point in enumerate(run["curve"])]
        row = {**run, "curve": curve, "period": run.get("period", curve[0]["step"]),
               "finished": True, "best_val": max(point["smoothed"] for point in curve)}
        controls.setdefault((run["benchmark"], run["init"]), []).append(row)
    print(f"\n| benchmark | control | best rate | rate kept at grace {GRACES[0]}..{GRACES[-1]} "
          "(validations) |\n| --- | --- | --- | --- |")
    for (name, init), rows in sorted(controls.items()):
        best = max(rows, key=lambda row: row["best_val"])["learning_rate"]
        kept = [choose_rate(rows, grace=grace) for grace in GRACES]
        marks = " ".join(f"{rate:g}" + ("" if rate == best else "*") for rate in kept)
        print(f"| {name} | {init} | {best:g} | {marks} |")
    print("(* a rate other than the best run's)")


def compare(ours: list[dict], other_path: Path) -> None:
    """The fitting shares beside those of another run of this script (e.g. the full budget's
    `benchmarks/results/controls-h100.json`), and their difference."""
    mine = fitting_shares(ours)
    other = fitting_shares(json.loads(other_path.read_text())["controls"])
    print(f"\n| benchmark | fitting share (this run) | fitting share ({other_path.name}) | "
          "difference |\n| --- | --- | --- | --- |")  # fmt: skip
    for name in sorted(mine.keys() & other.keys()):
        here, there = mine[name], other[name]
        print(f"| {name} | {here:.3f} | {there:.3f} | {here - there:+.3f} |")


if __name__ == "__main__":
    main()
