"""What one training run keeps on disk, and which weights it hands on.

A control is scored with the weights its validation split prefers. On a small split a single
validation is noisy (one item of 200 is half a point), so the run reads a smoothed curve, the
trailing mean of its last `window` validations, for early stopping and selection alike, and the
weights it keeps are the average of the `window` checkpoints behind the best smoothed point
(checkpoint averaging): the weights the smoothed score describes, rather than the one checkpoint
that happened to end the window. Early in training from scratch the window's checkpoints can sit
far apart, and their average can be worse than any of them; so a finished run validates the
average once more and keeps the window's best single checkpoint instead when that validated
higher (`settle`; the run's summary records both scores). `benchmarks/selection.py` measured the
rule against the raw best validation and moving averages of the weights (README "Controls"). A
window of one is the raw best validation, checkpoint for checkpoint.

Files in the run's folder: `window-K.safetensors` (a ring of the last `window` validations'
weights), `averaged.safetensors` (the average behind the best smoothed point; with a window of
one, that checkpoint), `single.safetensors` (the best window's best checkpoint), `best.safetensors`
(the kept weights, written when the run has finished), and `optimizer.pt` (the optimiser and
schedule where training resumes, from the ring's latest weights: the last validation's checkpoint
is not written twice). Weights go through safetensors; every file is written whole or not at all.
Once the whole control has finished, `prune` deletes them all but the records.
"""

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from safetensors.torch import load_model as load_weights
from safetensors.torch import save_model as save_weights


def describe(validations_per_epoch: int, smoothing: int, patience: int) -> str:
    """The selection rule of a plan, in words (each control's convergence record carries it)."""
    per_epoch = {1: "once an epoch", 2: "twice an epoch"}.get(
        validations_per_epoch, f"{validations_per_epoch} times an epoch"
    )
    if smoothing == 1:
        return (f"validated {per_epoch}; stopped after {patience} validations without a new "
                "best, keeping the weights of the best validation")  # fmt: skip
    return (f"validated {per_epoch}; stopped after {patience} validations without a new best of "
            f"the trailing mean of {smoothing} validations, keeping the weights averaged over "
            "that best window (or its best checkpoint, when that validates higher than the "
            "average)")  # fmt: skip


def _replace(path: Path, write) -> None:
    partial = path.with_name(f"{path.stem}.partial{path.suffix}")
    write(partial)
    os.replace(partial, path)


class Checkpoints:
    """The files of one run in `folder`, averaging over a window of `window` validations."""

    def __init__(self, folder: Path, window: int) -> None:
        self.folder, self.window = folder, window

    @property
    def best(self) -> Path:
        return self.folder / "best.safetensors"

    @property
    def averaged(self) -> Path:
        return self.folder / "averaged.safetensors"

    @property
    def single(self) -> Path:
        return self.folder / "single.safetensors"

    def slot(self, validation: int) -> Path:
        """The ring's file for validation number `validation` (0-based): the weights a run
        resumes from after its latest validation."""
        return self.folder / f"window-{validation % self.window}.safetensors"

    def record(self, model: Any, validation: int, best: bool, window_vals: list[float]) -> None:
        """Save the weights of validation number `validation` (0-based) into the ring; when its
        smoothed score is the best so far, average the ring's checkpoints of the last `window`
        validations (fewer at the start), whose raw scores are `window_vals`, and keep the best
        of those checkpoints beside the average."""
        _replace(self.slot(validation), lambda path: save_weights(model, path))
        if not best:
            return
        if self.window == 1:
            _replace(self.averaged, lambda path: save_weights(model, path))
            return
        first = validation - len(window_vals) + 1
        states = [load_file(self.slot(k)) for k in range(first, validation + 1)]
        _replace(self.averaged, lambda path: save_file(average(states), path))
        top = first + max(range(len(window_vals)), key=lambda k: (window_vals[k], k))
        _replace(self.single, lambda path: shutil.copyfile(self.slot(top), path))

    def settle(
        self, model: Any, validate: Callable[[Any], float], single_val: float
    ) -> dict[str, Any]:
        """Once a run has finished, write the kept weights: the average, unless the best window's
        best single checkpoint (validated at `single_val`) validated higher than the average
        does now. Leaves the kept weights in `model`; repeating it gives the same answer."""
        if self.window == 1:
            _replace(self.best, lambda path: shutil.copyfile(self.averaged, path))
            load_weights(model, self.best)
            return {"kept": "best validation"}
        load_weights(model, self.averaged)
        averaged_val = validate(model)
        kept = "averaged" if averaged_val >= single_val else "single"
        source = self.averaged if kept == "averaged" else self.single
        _replace(self.best, lambda path: shutil.copyfile(source, path))
        load_weights(model, self.best)
        return {"kept": kept, "averaged_val": averaged_val, "single_val": single_val}

    def save_progress(self, optimizer: Any, schedule: Any) -> None:
        """Where a resumed run starts, beside the latest validation's weights (`record`): the
        optimiser and schedule."""
        moments = {"optimizer": optimizer.state_dict(), "schedule": schedule.state_dict()}
        _replace(self.folder / "optimizer.pt", lambda path: torch.save(moments, path))


def prune(control_folder: Path) -> None:
    """Delete the weights and optimiser state of a finished control's runs and self-pretraining
    backbones, keeping their JSON records (summaries, states, pretraining logs) and the chosen
    model in `checkpoint/`. Once the control's result is written nothing reads them again (a
    cached control is its result and that checkpoint), and they are almost all of its disk: a
    MiniLM run keeps seven 90 MB files, so `make demo`'s two controls left 2.8 GB where 180 MB
    remain."""
    for path in control_folder.glob("*/*"):
        if path.parent.name != "checkpoint" and path.suffix in (".safetensors", ".pt"):
            path.unlink()


def average(states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The element-wise mean of several state dicts with the same keys, in float32 and cast
    back; integer buffers (position ids) are the same in every one and taken from the last."""
    merged = {}
    for key, value in states[-1].items():
        if value.is_floating_point():
            total = torch.stack([state[key].float() for state in states]).mean(dim=0)
            merged[key] = total.to(value.dtype).contiguous()
        else:
            merged[key] = value
    return merged
