"""The training loop of one (learning rate, seed) run of a control.

Plain torch: AdamW (fused), linear warmup then linear decay, gradient clipping, bf16 autocast
wherever bfloat16 matrix multiplies are native (GPUs, and CPUs with AVX512-BF16 or AMX), and
batches of similar length (transformers' `get_length_grouped_indices`) so that little of a batch
is padding. The run validates and checkpoints every period (safetensors weights, optimizer and
schedule state, progress), so an interrupted run resumes exactly where it stopped; it stops when
its smoothed validation curve stops rising and keeps the weights behind the curve's best point
(`checkpoints`). What a batch and a validation score are is the task's (auditor/tasks/).
"""

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from safetensors.torch import load_model as load_weights
from transformers.trainer_pt_utils import get_length_grouped_indices

from auditor.cache import atomic_write_text
from auditor.controls.checkpoints import Checkpoints
from auditor.embeddings import native_bf16

if TYPE_CHECKING:
    from auditor.controls.plan import ControlPlan
    from auditor.controls.run import ControlSetup

Progress = Callable[[str, int, int], None]
"""Called with (stage, done, total) as training advances."""


def silent(stage: str, done: int, total: int) -> None:
    """The progress callback that reports nothing."""


def optimizer_and_schedule(
    model: Any, lr: float, plan: "ControlPlan", total: int
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW (the plan's weight decay) and a linear warmup (the plan's share of `total` steps)
    then linear decay to zero at `total`."""
    # The fused kernel is one pass over the weights instead of a dozen: on 2 CPU cores it took
    # MiniLM from 1.75 to 2.18 steps/s on TREC (benchmarks/training.py).
    fused = next(model.parameters()).device.type in ("cuda", "cpu")
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=plan.weight_decay,
                                  fused=fused)  # fmt: skip
    warmup = int(plan.warmup * total)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: min(
            (step + 1) / max(warmup, 1), max(total - step, 0) / max(total - warmup, 1)
        ),
    )
    return optimizer, schedule


def autocast_for(device: torch.device) -> torch.autocast:
    """bf16 autocast where bfloat16 matrix multiplies are native, on a GPU or a CPU (master
    weights, optimiser state and the loss stay fp32); fp32 elsewhere, where bf16 would be
    emulated and slower. On 2 AVX512-BF16 cores it made a MiniLM step 1.53x faster. Validation
    runs under it too (the benchmark's scoring does not: `tasks`' `evaluate`)."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=native_bf16(device.type))


def epoch_order(
    train_rows: np.ndarray, lengths: np.ndarray, batch_size: int, seed: int, epoch: int
) -> np.ndarray:
    """The training rows of one epoch, a function of (seed, epoch) alone (so a resumed run
    repeats it): shuffled, grouped into batches of similar length (transformers'
    `get_length_grouped_indices`: random mega-batches sorted by length, then cut), and the
    batches themselves shuffled, so that long and short batches do not come in runs. On TREC
    the mean padded width of a batch fell from 25 to 15 tokens (13.5 real)."""
    generator = torch.Generator().manual_seed(seed * 10_007 + epoch)
    grouped = np.asarray(
        get_length_grouped_indices(lengths.tolist(), batch_size, generator=generator)
    )
    batches = [grouped[i : i + batch_size] for i in range(0, len(grouped), batch_size)]
    shuffled = torch.randperm(len(batches), generator=generator).tolist()
    return train_rows[np.concatenate([batches[i] for i in shuffled])]


def step(
    model: Any,
    batch: dict[str, torch.Tensor],
    optimizer: torch.optim.Optimizer,
    schedule: torch.optim.lr_scheduler.LambdaLR,
    autocast: torch.autocast,
) -> torch.Tensor:
    """One optimisation step on `batch` (moved to the model's device), gradients clipped to norm
    1; its loss, detached."""
    device = next(model.parameters()).device
    with autocast:
        loss = model(**{k: v.to(device) for k, v in batch.items()}).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    schedule.step()
    optimizer.zero_grad(set_to_none=True)
    return loss.detach()


def fit(
    model: Any,
    setup: "ControlSetup",
    lr: float,
    seed: int,
    run_dir: Path,
    progress: Progress,
    until: int | None = None,
    deadline: float | None = None,
) -> dict[str, Any]:
    """Train one (learning rate, seed) run, validating and checkpointing every period (the
    plan's share of an epoch, or every `eval_steps` steps when that is shorter, and at the last
    step). Early stopping and selection read the smoothed validation curve (the trailing mean of
    the plan's `smoothing` validations): the run stops after `patience` validations without a
    new best of it and keeps the weights averaged over its best window (`checkpoints`). With
    `until`, pause at the first validation at or past that step (successive halving's rungs):
    the summary then says `finished: False`, and a later call resumes from the checkpoint
    exactly as if it had never stopped. With `deadline` (a `time.monotonic()` value: the
    control's `max_minutes`), stop at the first validation past it, the run's first excepted;
    the summary then says `out_of_time`."""
    plan, train_rows = setup.plan, setup.train_rows
    run_dir.mkdir(parents=True, exist_ok=True)
    device = next(model.parameters()).device
    steps_per_epoch = math.ceil(len(train_rows) / plan.batch_size)
    period = min(math.ceil(steps_per_epoch / plan.validations_per_epoch),
                 plan.eval_steps or steps_per_epoch)  # fmt: skip
    total = steps_per_epoch * plan.epochs
    if plan.max_steps is not None:
        total = min(total, plan.max_steps)
    optimizer, schedule = optimizer_and_schedule(model, lr, plan, total)
    files = Checkpoints(run_dir, plan.smoothing)
    state = {"step": 0, "best_val": -math.inf, "best_step": 0, "curve": [], "stale": 0,
             "single_val": -math.inf}  # fmt: skip
    if (run_dir / "state.json").is_file():  # resume an interrupted run
        state = json.loads((run_dir / "state.json").read_text())
        load_weights(model, files.slot(len(state["curve"]) - 1))
        moments = torch.load(run_dir / "optimizer.pt", weights_only=True)
        optimizer.load_state_dict(moments["optimizer"])
        schedule.load_state_dict(moments["schedule"])
    task, pad_id = setup.task, setup.tokenizer.pad_token_id
    lengths = np.array([len(setup.examples[i]["input_ids"]) for i in train_rows])
    # Validation batches of similar length too: its score is a mean over items either way.
    validation = sorted((setup.examples[i] for i in setup.val_rows),
                        key=lambda example: len(example["input_ids"]))  # fmt: skip

    autocast = autocast_for(device)

    def validate(weights: Any) -> float:
        with autocast:  # as it trains: 400 TREC items in 0.52 s where fp32 took 0.90 (MiniLM)
            return task.validate(weights, validation, batch_size=plan.batch_size, pad_id=pad_id)

    stage = f"training {plan.init} control (lr {lr:g}, seed {seed})"
    out_of_time = False
    while state["step"] < total and state["stale"] < plan.patience:
        if until is not None and state["step"] >= until:
            break
        if deadline is not None and state["curve"] and time.monotonic() >= deadline:
            out_of_time = True
            break
        model.train()
        # Data order comes from (seed, epoch) and dropout masks from (seed, period) alone, so a
        # run resumed at a checkpoint repeats exactly what the interrupted one would have done.
        torch.manual_seed(seed * 10_007 + len(state["curve"]))
        losses = []
        for _ in range(min(period, total - state["step"])):
            epoch, offset = divmod(state["step"], steps_per_epoch)
            if offset == 0 or not losses:
                order = epoch_order(train_rows, lengths, plan.batch_size, seed, epoch)
            rows = order[offset * plan.batch_size : (offset + 1) * plan.batch_size]
            batch = task.collate([setup.examples[i] for i in rows], pad_id)
            losses.append(step(model, batch, optimizer, schedule, autocast))
            state["step"] += 1
            progress(stage, state["step"], total)
        val = validate(model)
        window = [*(point["val"] for point in state["curve"]), val][-plan.smoothing :]
        smoothed = sum(window) / len(window)  # the trailing mean
        state["curve"].append({
            "epoch": round(state["step"] / steps_per_epoch, 3), "step": state["step"],
            "train_loss": float(torch.stack(losses).mean()), "val": val, "smoothed": smoothed,
        })  # fmt: skip
        improved = smoothed > state["best_val"]
        if improved:
            state.update(best_val=smoothed, best_step=state["step"], stale=0,
                         single_val=max(window))  # fmt: skip
        else:
            state["stale"] += 1
        files.record(model, len(state["curve"]) - 1, best=improved, window_vals=window)
        files.save_progress(optimizer, schedule)
        atomic_write_text(run_dir / "state.json", json.dumps(state))
    finished = state["step"] >= total or state["stale"] >= plan.patience or out_of_time
    summary = {"best_val": state["best_val"], "best_step": state["best_step"],
               "best_epoch": round(state["best_step"] / steps_per_epoch, 3),
               "steps": state["step"], "curve": state["curve"],
               "val_metric": task.val_metric, "smoothing": plan.smoothing, "finished": finished,
               "period": period, "out_of_time": out_of_time}  # fmt: skip
    if finished:
        summary["kept"] = files.settle(model, validate, state["single_val"])
        atomic_write_text(run_dir / "summary.json", json.dumps(summary))
    return summary
