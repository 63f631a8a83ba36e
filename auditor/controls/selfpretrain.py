"""The self-pretrained control's pretraining: the scratch model taught the training text first.

A random-initialised control overstates what external pretraining transfers: part of the gap to
the pretrained control is what any pretraining on the task's own text teaches (Amos, Berant &
Gupta, "Never Train from Scratch", ICLR 2024, close most of such gaps by pretraining on the
downstream data alone). So the self-pretrained control starts from the scratch control's seeded
random initialisation, pretrains it with the base model's own objective on the text of the
control's training rows, and is then fine-tuned exactly like the other controls. The difference to
the scratch control is what the training text itself teaches; the difference to the pretrained
control is what the external pretraining corpus adds.

What it reads: the token ids of the control's training rows (`ControlSetup.train_rows` of
`ControlSetup.examples`), nothing else: not the validation rows (their texts and labels choose the
learning rate and epoch), and never the benchmark, which does not reach this module. The objective
follows the base's config (`auditor.models.is_causal_lm`): causal LM on each example's token ids
for a decoder (for a generation task, the prompt and the answer), masked LM for an encoder (15% of
the tokens, transformers' `DataCollatorForLanguageModeling`: 80% [MASK], 10% random, 10% kept).
The loop is the controls' own (`training.optimizer_and_schedule`, `training.step`: AdamW, warmup
then linear decay, clipping, bf16 autocast on GPUs) for the plan's `pretrain_steps`, seeded by the
control's seed. The pretrained part (the base model, or the whole language model when the
control's task trains a causal LM itself) is saved per seed in the control's folder as safetensors
and reused: a resumed or cached control never pretrains twice.
"""

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from safetensors.torch import load_model as load_weights
from safetensors.torch import save_model as save_weights

from auditor.cache import atomic_write_text
from auditor.controls import training
from auditor.controls.training import Progress
from auditor.errors import InputError
from auditor.models import build_from_config, is_causal_lm, load_config
from auditor.tasks.base import pad_inputs
from auditor.tasks.causal import IGNORE

if TYPE_CHECKING:
    from auditor.controls.run import ControlSetup

STAGE = "pretraining selfpretrained control on the training text"

MAY_LACK = ("pooler.",)
"""Parameters of the control's base model that a pretraining model may lack: BERT-style poolers
(a masked-LM model has none). Anything else missing means the backbone does not fit."""

Collate = Callable[[list[list[int]]], dict[str, torch.Tensor]]


def folder(setup: "ControlSetup", seed: int) -> Path:
    return setup.folder / f"selfpretrain-seed-{seed}"


def objective(setup: "ControlSetup") -> str:
    """The pretraining head: "causal" for a decoder base, "masked" for an encoder."""
    config = load_config(setup.plan.base, setup.trust_remote_code)
    return "causal" if is_causal_lm(config) else "masked"


def pretraining_rows(setup: "ControlSetup") -> list[list[int]]:
    """The token ids pretraining reads: the training rows' examples, in row order."""
    return [list(setup.examples[row]["input_ids"]) for row in setup.train_rows]


def make_collator(tokenizer: Any, head: str, seed: int, mlm_probability: float) -> Collate:
    """Token-id rows to a padded batch with the objective's labels: every real token for a
    causal LM, a seeded 15% (`mlm_probability`) masked for a masked LM."""
    if head == "causal":

        def causal(rows: list[list[int]]) -> dict[str, torch.Tensor]:
            batch = pad_inputs([{"input_ids": ids} for ids in rows], tokenizer.pad_token_id)
            batch["labels"] = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, IGNORE)
            return batch

        return causal
    if tokenizer.mask_token is None:
        raise InputError("the base's tokenizer has no mask token, so an encoder cannot be "
                         "pretrained with masked LM for a selfpretrained control.")  # fmt: skip
    from transformers import DataCollatorForLanguageModeling

    collator = DataCollatorForLanguageModeling(
        tokenizer, mlm=True, mlm_probability=mlm_probability, seed=seed, return_tensors="pt"
    )
    return lambda rows: collator([{"input_ids": ids} for ids in rows])


def backbone(setup: "ControlSetup", seed: int, progress: Progress) -> Path:
    """The saved pretrained weights of `seed`, pretraining them first when absent."""
    path = folder(setup, seed) / "backbone.safetensors"
    if path.is_file():
        return path
    return pretrain(setup, seed, progress)


def shared_part(setup: "ControlSetup", model: Any, head: str) -> Any:
    """What the pretraining model (objective `head`) hands on: the whole model when the control
    trains that very head (a generation control on a decoder: its language-model head too, tied
    or not), else the base model (the control adds its own head and pooler)."""
    return model if head == setup.task.head else model.base_model


def pretrain(setup: "ControlSetup", seed: int, progress: Progress) -> Path:
    """Pretrain the scratch initialisation of `seed` on the training rows; save and return its
    weights (`backbone.safetensors`, with `pretraining.json`: objective, steps, loss curve)."""
    plan, head = setup.plan, objective(setup)
    rows = pretraining_rows(setup)
    collate = make_collator(setup.tokenizer, head, seed, plan.mlm_probability)
    model = build_from_config(plan.base, head, seed).to(setup.device)
    optimizer, schedule = training.optimizer_and_schedule(model, plan.pretrain_lr, plan,
                                                          plan.pretrain_steps)  # fmt: skip
    autocast = training.autocast_for(setup.device)
    steps_per_epoch = -(-len(rows) // plan.batch_size)
    generator = torch.Generator().manual_seed(seed * 10_007)
    torch.manual_seed(seed * 10_007)  # dropout masks
    model.train()
    losses, started = [], time.monotonic()
    for done in range(plan.pretrain_steps):
        epoch_step = done % steps_per_epoch
        if epoch_step == 0:
            order = torch.randperm(len(rows), generator=generator).tolist()
        chosen = order[epoch_step * plan.batch_size : (epoch_step + 1) * plan.batch_size]
        batch = collate([rows[i] for i in chosen])
        losses.append(float(training.step(model, batch, optimizer, schedule, autocast)))
        progress(f"{STAGE} (seed {seed})", done + 1, plan.pretrain_steps)
    out = folder(setup, seed)
    out.mkdir(parents=True, exist_ok=True)
    path, partial = out / "backbone.safetensors", out / "backbone.partial.safetensors"
    save_weights(shared_part(setup, model, head), partial)
    os.replace(partial, path)  # only a whole file counts as pretrained
    every = max(1, len(losses) // 20)
    curve = [{"step": min(i + every, len(losses)), "loss": float(np.mean(losses[i : i + every]))}
             for i in range(0, len(losses), every)]  # fmt: skip
    atomic_write_text(out / "pretraining.json", json.dumps({
        "objective": head, "steps": plan.pretrain_steps, "rows": len(rows), "seed": seed,
        "learning_rate": plan.pretrain_lr, "seconds": round(time.monotonic() - started, 1),
        "loss_curve": curve,
    }, indent=1))  # fmt: skip
    return path


def load_backbone(setup: "ControlSetup", model: Any, path: Path) -> None:
    """Load the pretrained weights into `model` (the control's scratch model): no unexpected
    key; missing only what the pretraining model lacks (`MAY_LACK`)."""
    base = setup.plan.base
    missing, unexpected = load_weights(shared_part(setup, model, objective(setup)), path,
                                       strict=False)  # fmt: skip
    unfit = [key for key in missing if not key.startswith(MAY_LACK)]
    if unexpected or unfit:
        raise InputError(
            f"--base {base}: the self-pretrained weights ({path}) do not fit the control's model: "
            f"unexpected {sorted(unexpected)}, missing {sorted(unfit)} (only {MAY_LACK} may be "
            "missing)."
        )
