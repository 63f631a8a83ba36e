"""Training an audit's controls side by side, one process each, while the audit goes on.

On a CPU a control's step is small matrix products that threads share poorly: on 2 cores, two
single-thread processes stepping at once take 1.25 times the steps per second of one two-thread
process (MiniLM scratch step, TREC 6.49 vs 5.20, SST-2 3.71 vs 2.99:
`python -m benchmarks.training --processes 2`); two two-thread processes on 2 cores take a
third of it (0.99 s a step each instead of 0.30). So `audit run` starts its controls in `jobs`
spawned processes of `threads // jobs` threads each, runs its probes and scores the candidate
here meanwhile (on the same share of the threads), and then collects the controls. A finished
control is read from its cache here, without a process. `make demo` went from 6 min 48 s to
6 min 14 s: the controls' runs are the critical path, and once one control has finished the
other goes on alone on its one thread.

What a control learns does not depend on where it trains: its runs are seeded by (seed, epoch,
validation) and resume from their checkpoints as before (a test trains two controls in two
processes and here with the same threads, and gets the same curves and predictions). It does
depend, in the last bits of every matrix product, on the thread count, and early stopping can
amplify those bits: `make demo`'s pretrained control stopped at step 475 on two threads and at
650 on one (95.0% and 95.4% on the benchmark). Each control records its threads.
"""

import multiprocessing
import pickle
import queue
import signal
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from auditor.controls.plan import ControlPlan
from auditor.controls.run import ControlResult, check_base, control_folder, run_control
from auditor.controls.training import Progress, silent
from auditor.corpus import Corpus
from auditor.embeddings import resolve_device
from auditor.tasks import TaskSpec

Wait = Callable[[], dict[str, ControlResult]]
POLL_S = 1.0
"""How often the audit checks that its control processes are alive while it waits."""


def default_jobs(device: str, controls: int) -> int:
    """Controls to train at once: on a CPU, one per control while each gets a core; on a GPU,
    one (two controls of a large model on one GPU may not fit in its memory)."""
    if resolve_device(device) != "cpu":  # "auto" is a GPU only where one is
        return 1
    return max(1, min(controls, torch.get_num_threads()))


class Pending:
    """Controls being trained: `results()` waits for them, by init in the plans' order."""

    def __init__(self, order: list[str], ready: dict[str, ControlResult], wait: Wait) -> None:
        self.order, self.ready, self.wait = order, ready, wait
        """`ready`: the controls read from the cache; `wait`: the rest, trained or waited for."""

    def results(self) -> dict[str, ControlResult]:
        self.ready.update(self.wait())
        self.wait = dict
        return {init: self.ready[init] for init in self.order}


@contextmanager
def controls_started(
    plans: list[ControlPlan],
    train: Corpus,
    bench: Corpus,
    spec: TaskSpec,
    *,
    jobs: int,
    on_progress: Progress | None = None,
    cache_dir: Path | None = None,
    **options: Any,
) -> Iterator[Pending]:
    """Start training `plans` (`run_control`'s `options` for each) in `jobs` processes, or with
    one job here, lazily, when their results are asked for; yields the `Pending` controls.
    Leaving the block early (an error) stops the processes; their runs resume from their last
    checkpoint next time."""
    progress, order = on_progress or silent, [plan.init for plan in plans]
    ready, asked = {}, {}
    for plan in plans:
        done = control_folder(plan, train, bench, spec, cache_dir) / "result.json"
        if done.is_file():
            ready[plan.init] = run_control(plan, train, bench, spec, cache_dir=cache_dir)
        else:
            asked[plan.init] = plan
    for plan in asked.values():  # refused here at once, not in a process minutes later
        check_base(plan, spec, options.get("trust_remote_code", False))
    jobs = min(jobs, len(asked))
    if jobs <= 1:
        def here() -> dict[str, ControlResult]:
            return {init: run_control(plan, train, bench, spec, cache_dir=cache_dir,
                                      on_progress=progress, **options)
                    for init, plan in asked.items()}  # fmt: skip

        yield Pending(order, ready, here)
        return
    threads = max(1, torch.get_num_threads() // jobs)
    context = multiprocessing.get_context("spawn")  # fork would copy torch's thread pools
    workers = _Workers(context, jobs, threads, (train, bench, spec, cache_dir, options))
    relay = threading.Thread(target=_relay, args=(workers.updates, progress), daemon=True)
    relay.start()
    before = torch.get_num_threads()
    torch.set_num_threads(threads)  # this process's share while the controls train
    try:
        workers.start(asked)
        yield Pending(order, ready, workers.collect)
    finally:
        workers.stop()
        torch.set_num_threads(before)
        workers.updates.put(None)
        relay.join()


class _Workers:
    """Spawned processes training controls, at most `jobs` at a time, each with `threads`
    threads; `shared`: `_train`'s arguments after the plan."""

    def __init__(self, context: Any, jobs: int, threads: int, shared: tuple) -> None:
        self.context, self.jobs, self.threads, self.shared = context, jobs, threads, shared
        self.updates, self.outcomes = context.Queue(), context.Queue()
        self.waiting: list[ControlPlan] = []
        self.running: dict[str, Any] = {}

    def start(self, asked: dict[str, ControlPlan]) -> None:
        self.waiting.extend(asked.values())
        self._launch()

    def _launch(self) -> None:
        while self.waiting and len(self.running) < self.jobs:
            plan = self.waiting.pop(0)
            process = self.context.Process(
                target=_train, daemon=True,
                args=(plan, *self.shared, self.threads, self.updates, self.outcomes),
            )  # fmt: skip
            process.start()
            self.running[plan.init] = process

    def collect(self) -> dict[str, ControlResult]:
        """Wait for every control; an error in one (an input error, or a process that died
        without an answer, killed for memory say) stops the rest and is raised here."""
        results = {}
        while self.running:
            try:
                init, result = self.outcomes.get(timeout=POLL_S)
            except queue.Empty:
                self._check_alive()
                continue
            self.running.pop(init).join()
            if isinstance(result, BaseException):
                raise result
            results[init] = result
            self._launch()
        return results

    def _check_alive(self) -> None:
        for init, process in self.running.items():
            if not process.is_alive() and self.outcomes.empty():
                raise RuntimeError(f"the process training the {init} control stopped with exit "
                                   f"code {process.exitcode} and no result (killed for memory?); "
                                   "its runs resume from their last checkpoint if you run the "
                                   "command again")  # fmt: skip

    def stop(self) -> None:
        for process in self.running.values():
            process.terminate()
            process.join()
        self.running = {}


def _relay(updates: Any, progress: Progress) -> None:
    """Hand the workers' progress to the audit's bars until told to stop (None)."""
    while (update := updates.get()) is not None:
        progress(*update)


def _train(plan, train, bench, spec, cache_dir, options, threads, updates, outcomes) -> None:
    """A worker process: train one control, and send back its result or the error. Ctrl-C
    reaches the whole process group: the audit stops its workers itself (`_Workers.stop`), so
    a worker ignores it rather than print a traceback of its own."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(threads)

    def report(stage: str, done: int, total: int) -> None:
        updates.put((stage, done, total))

    try:
        result = run_control(plan, train, bench, spec, cache_dir=cache_dir, on_progress=report,
                             **options)  # fmt: skip
    except Exception as error:  # sent back whole when it pickles, else as its traceback
        result = error if _pickles(error) else RuntimeError(traceback.format_exc())
    outcomes.put((plan.init, result))


def _pickles(value: Any) -> bool:
    try:
        pickle.dumps(value)
    except Exception:
        return False
    return True
