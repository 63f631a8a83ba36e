"""Control training throughput: the controls' step against a plain PyTorch step, same process.

A control run is most of `audit run`'s time on a CPU. The baseline is the loop the controls
used before this measurement, and the one most fine-tuning scripts write: AdamW (torch's default
for-loop implementation), fp32, batches drawn in random order (padded to their longest item).
The controls' step adds, one at a time: the fused AdamW kernel, batches of similar length
(`training.epoch_order`: transformers' length grouping, batches shuffled), and bf16 autocast
where bfloat16 matrix multiplies are native. Each configuration trains a fresh scratch MiniLM
control for the same steps on the quick budget's TREC and SST-2 training items; the script
prints steps/s and the ratio to the baseline, and the mean padded width of a batch.

With `--processes`, it measures instead what `audit run` does with two controls on a CPU
(`auditor.controls.parallel`): the controls' step in one process using all of torch's threads
(the baseline: controls trained one after the other), against the same step in N spawned
processes of threads/N threads each stepping at once (their steps/s summed).

    python -m benchmarks.training [--steps 30] [--benchmarks trec sst2] [--processes 2]
"""

import argparse
import contextlib
import multiprocessing
import time

import numpy as np
import torch

from auditor.controls import ControlPlan, prepare_control
from auditor.controls.training import epoch_order, step
from auditor.embeddings import native_bf16
from auditor.loading import load_corpus
from auditor.tasks import task_of

CONFIGS = {
    "baseline (AdamW for-loop, fp32, random batches)": (False, False, False),
    "+ fused AdamW": (True, False, False),
    "+ length-grouped batches": (True, True, False),
    "+ bf16 autocast (the controls' step)": (True, True, True),
}
"""name -> (fused optimiser, grouped batches, bf16 autocast)."""


def _order(setup, lengths: np.ndarray, grouped: bool) -> np.ndarray:
    if grouped:
        return epoch_order(setup.train_rows, lengths, setup.plan.batch_size, seed=0, epoch=0)
    return np.random.default_rng(0).permutation(setup.train_rows)


def steps_per_second(setup, fused: bool, grouped: bool, bf16: bool, steps: int) -> tuple:
    model = setup.fresh_model(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=0.01, fused=fused)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)
    autocast = (torch.autocast("cpu", dtype=torch.bfloat16) if bf16
                else contextlib.nullcontext())  # fmt: skip
    lengths = np.array([len(setup.examples[i]["input_ids"]) for i in setup.train_rows])
    order, size = _order(setup, lengths, grouped), setup.plan.batch_size
    widths, started = [], None
    for k in range(steps + 2):  # two warm-up steps
        if k == 2:
            started = time.perf_counter()
        rows = order[k * size : (k + 1) * size]
        batch = setup.task.collate([setup.examples[i] for i in rows], setup.tokenizer.pad_token_id)
        widths.append(batch["input_ids"].shape[1])
        step(model, batch, optimizer, schedule, autocast)
    return steps / (time.perf_counter() - started), float(np.mean(widths))


def scratch_setup(name: str):
    train, bench = load_corpus(f"{name}:train"), load_corpus(f"{name}:test")
    plan = ControlPlan.from_budget("minilm", "scratch", "quick")
    return prepare_control(plan, train, bench, task_of(bench, train),
                           cache_dir="/tmp/audit-bench-training")  # fmt: skip


def _stepping(name: str, threads: int, steps: int, start, rates) -> None:
    """A spawned process: the controls' step `steps` times on `threads` threads, timed from
    when every process is ready (`start`, a barrier)."""
    torch.set_num_threads(threads)
    setup = scratch_setup(name)
    steps_per_second(setup, True, True, native_bf16("cpu"), 2)  # load and warm up first
    start.wait()
    rates.put(steps_per_second(setup, True, True, native_bf16("cpu"), steps)[0])


def processes_table(name: str, processes: int, steps: int) -> None:
    threads = torch.get_num_threads()
    alone = steps_per_second(scratch_setup(name), True, True, native_bf16("cpu"), steps)[0]
    context = multiprocessing.get_context("spawn")
    start, rates = context.Barrier(processes), context.Queue()
    share = max(1, threads // processes)
    workers = [context.Process(target=_stepping, args=(name, share, steps, start, rates))
               for _ in range(processes)]  # fmt: skip
    for worker in workers:
        worker.start()
    together = sum(rates.get() for _ in workers)
    for worker in workers:
        worker.join()
    print(f"\n{name}: scratch MiniLM control step, {steps} steps")
    print(f"  one process, {threads} threads (one control after the other)  {alone:5.2f} steps/s")
    print(f"  {processes} processes, {share} thread(s) each, at once (summed)    "
          f"{together:5.2f} steps/s  x{together / alone:4.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--benchmarks", nargs="+", default=["trec", "sst2"])
    parser.add_argument("--processes", type=int, default=0,
                        help="Compare N processes stepping at once with one (0: the step table).")
    args = parser.parse_args()
    print(f"bf16 matrix multiplies native on this CPU: {native_bf16('cpu')}")
    for name in args.benchmarks:
        if args.processes:
            processes_table(name, args.processes, args.steps)
            continue
        setup = scratch_setup(name)
        plan = setup.plan
        print(f"\n{name}: scratch MiniLM control, batch {plan.batch_size}, {args.steps} steps")
        base = None
        for label, (fused, grouped, bf16) in CONFIGS.items():
            rate, width = steps_per_second(setup, fused, grouped, bf16, args.steps)
            base = base or rate
            print(f"  {label:50s} {rate:5.2f} steps/s  x{rate / base:4.2f}  "
                  f"(mean padded width {width:.1f} tokens)")  # fmt: skip


if __name__ == "__main__":
    main()
