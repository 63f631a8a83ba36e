"""Control models: the base architecture fine-tuned on the training data from two starts.

The scratch control is the base's architecture built from its config with seeded random
initialisation; the pretrained control starts from the base's weights. Everything else is shared:
tokenizer, training items, validation split, data order, search space, budget and seeds. Only the
initialisation and the learning rate each selects differ, because a randomly initialised
transformer trains best at a far higher learning rate than fine-tuning uses (measured with
MiniLM-L6 on TREC: scratch at 5e-5 reaches 0.64, at 3e-4 0.87), and a shared rate would
under-train the scratch control and overstate transfer. So each control tries every learning rate
of the budget's grid on a validation split carved from the training data, keeps the best epoch of
the best rate (early stopping), and the report records the whole search.

Classification controls train a sequence-classification head; generation and multiple-choice
controls are causal-LM supervised fine-tuning with the loss on the answer tokens only. The loop
is plain torch (AdamW, linear warmup then linear decay): it checkpoints every epoch (safetensors
weights, optimizer state), so `resume` continues an interrupted run, and a finished control is
reused from the cache when its inputs are unchanged.
"""

import hashlib
import json
import math
import platform
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_model as load_weights
from safetensors.torch import save_model as save_weights

from auditor import __version__
from auditor.cache import atomic_write_text, default_cache_dir
from auditor.corpus import Corpus
from auditor.embeddings import native_bf16, resolve_device
from auditor.errors import InputError
from auditor.models import build_from_config, load_model, load_tokenizer, resolve_model
from auditor.tasks import TASKS, TaskSpec
from auditor.tasks.base import Task

INITS = ("scratch", "pretrained")


@dataclass(frozen=True)
class Budget:
    max_train_items: int | None
    epochs: int
    max_steps: int | None
    learning_rates: tuple[float, ...]
    patience: int
    eval_steps: int | None = None


BUDGETS = {
    "quick": Budget(max_train_items=2000, epochs=3, max_steps=250,
                    learning_rates=(5e-5, 5e-4), patience=3),
    "full": Budget(max_train_items=None, epochs=20, max_steps=None,
                   learning_rates=(2e-5, 5e-5, 1e-4, 3e-4, 1e-3), patience=3, eval_steps=1000),
}  # fmt: skip
"""quick: a few minutes on 2 CPU cores for TREC-size data (subsample and step cap); full: every
training item, up to 20 epochs with early stopping, validating at least every 1,000 steps so that a
large training set (GLUE's 67k SST-2 phrases: 2,100 steps an epoch) stops near its best point."""


@dataclass(frozen=True)
class ControlPlan:
    """Everything that determines a control: its cache key is a hash of this and the data."""

    base: str
    init: str
    budget: str = "quick"
    learning_rates: tuple[float, ...] = ()
    epochs: int = 0
    max_steps: int | None = None
    max_train_items: int | None = None
    patience: int = 3
    eval_steps: int | None = None
    """Validate (and checkpoint) every this many steps when an epoch is longer; patience counts
    validations."""
    batch_size: int = 32
    warmup: float = 0.06
    weight_decay: float = 0.01
    val_fraction: float = 0.1
    max_length: int = 128
    seeds: int = 1

    @classmethod
    def from_budget(cls, base: str, init: str, budget: str = "quick", **overrides) -> "ControlPlan":
        if init not in INITS:
            raise InputError(f"--init must be one of {', '.join(INITS)}, not {init!r}.")
        if budget not in BUDGETS:
            raise InputError(f"--budget must be one of {', '.join(BUDGETS)}, not {budget!r}.")
        chosen = BUDGETS[budget]
        values = {
            "learning_rates": chosen.learning_rates, "epochs": chosen.epochs,
            "max_steps": chosen.max_steps, "max_train_items": chosen.max_train_items,
            "patience": chosen.patience, "eval_steps": chosen.eval_steps,
        }  # fmt: skip
        values.update({k: v for k, v in overrides.items() if v is not None})
        values["learning_rates"] = tuple(values["learning_rates"])
        return cls(base=base, init=init, budget=budget, **values)


@dataclass
class ControlResult:
    plan: dict[str, Any]
    task: str
    accuracy: float
    accuracy_by_seed: list[float]
    learning_rate: float
    search: list[dict[str, Any]]
    """One row per learning rate tried: best validation score, epoch, training curve."""
    items: list[dict[str, Any]]
    """Per benchmark item (seed 0): index, prediction, gold, correct, and correct_by_seed."""
    train_items: int
    val_items: int
    checkpoint: str
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def accuracy_std(self) -> float:
        return float(np.std(self.accuracy_by_seed))


Progress = Callable[[str, int, int], None]


@dataclass
class ControlSetup:
    """What every training run of one control shares: its folder, tokenized data and split.

    Each (learning rate, seed) run trains in its own subfolder, so separate processes can train
    the runs of one control at once (benchmarks/controls.py does, to fill a GPU) and
    `run_control(..., resume=True)` then finds them finished.
    """

    plan: ControlPlan
    spec: TaskSpec
    folder: Path
    tokenizer: Any
    examples: list[dict]
    train_rows: np.ndarray
    val_rows: np.ndarray
    device: torch.device
    allow_pickle: bool = False
    trust_remote_code: bool = False

    @property
    def task(self) -> Task:
        return TASKS.get(self.spec.task)

    def fresh_model(self, seed: int):
        """The control's starting point for `seed`, as fp32 weights on the training device."""
        plan, overrides, head = self.plan, self.task.head_overrides(self.spec), self.task.head
        if plan.init == "scratch":
            model = build_from_config(plan.base, head, seed, **overrides)
        else:
            torch.manual_seed(seed)  # the new head's initialisation
            # fp32 master weights like the scratch control's, whatever dtype the checkpoint has.
            model = load_model(plan.base, head, allow_pickle=self.allow_pickle,
                               trust_remote_code=self.trust_remote_code, dtype=torch.float32,
                               **overrides)  # fmt: skip
        if model.config.pad_token_id is None:
            model.config.pad_token_id = self.tokenizer.pad_token_id
        return model.to(self.device)

    def train(self, lr: float, seed: int, progress: Progress | None = None) -> dict[str, Any]:
        """Train (or reuse) the run at (`lr`, `seed`); its summary: best validation, curve."""
        run_dir = self.folder / f"lr-{lr:g}-seed-{seed}"
        if (run_dir / "summary.json").is_file():
            return json.loads((run_dir / "summary.json").read_text())
        return _fit(self.fresh_model(seed), self, lr, seed, run_dir, progress or _silent)


def _silent(stage: str, done: int, total: int) -> None:
    pass


def control_folder(plan: ControlPlan, train: Corpus, bench: Corpus, spec: TaskSpec,
                   cache_dir: Path | None = None) -> Path:  # fmt: skip
    return Path(cache_dir or default_cache_dir()) / "controls" / _key(plan, train, bench, spec)


def prepare_control(
    plan: ControlPlan,
    train: Corpus,
    bench: Corpus,
    spec: TaskSpec,
    *,
    cache_dir: Path | None = None,
    device: str = "cpu",
    resume: bool = False,
    allow_pickle: bool = False,
    trust_remote_code: bool = False,
) -> ControlSetup:
    """Tokenize and split the training data; start the control's folder afresh unless `resume`."""
    folder = control_folder(plan, train, bench, spec, cache_dir)
    if folder.exists() and not resume:
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = load_tokenizer(plan.base, trust_remote_code=trust_remote_code)
    examples = TASKS.get(spec.task).examples(train, spec, tokenizer, plan.max_length)
    train_rows, val_rows = _split(len(examples), plan)
    if len(train_rows) < 1 or len(val_rows) < 1:
        raise InputError(f"{train.source}: too few training items for a control ({len(examples)}).")
    target = torch.device(resolve_device(device))
    return ControlSetup(plan, spec, folder, tokenizer, examples, train_rows, val_rows, target,
                        allow_pickle, trust_remote_code)  # fmt: skip


def choose_rate(search: list[dict[str, Any]]) -> float:
    """The learning rate with the best validation score; the earlier (smaller) one on a tie."""
    return max(search, key=lambda row: row["best_val"])["learning_rate"]


def run_control(
    plan: ControlPlan,
    train: Corpus,
    bench: Corpus,
    spec: TaskSpec,
    *,
    cache_dir: Path | None = None,
    device: str = "cpu",
    resume: bool = False,
    allow_pickle: bool = False,
    trust_remote_code: bool = False,
    on_progress: Progress | None = None,
) -> ControlResult:
    """Train (or reuse) the control `plan` describes and score it on `bench`."""
    progress = on_progress or _silent
    done = control_folder(plan, train, bench, spec, cache_dir) / "result.json"
    if done.is_file():
        return ControlResult(**json.loads(done.read_text()))
    setup = prepare_control(plan, train, bench, spec, cache_dir=cache_dir, device=device,
                            resume=resume, allow_pickle=allow_pickle,
                            trust_remote_code=trust_remote_code)  # fmt: skip
    search = [{"learning_rate": lr, **setup.train(lr, 0, progress)} for lr in plan.learning_rates]
    rate = choose_rate(search)
    accuracies, per_seed = [], []
    for seed in range(plan.seeds):
        setup.train(rate, seed, progress)
        model = setup.fresh_model(seed)
        load_weights(model, setup.folder / f"lr-{rate:g}-seed-{seed}" / "best.safetensors")
        progress("scoring control on the benchmark", 0, 1)
        result = setup.task.evaluate(
            model, setup.tokenizer, bench, spec, max_length=plan.max_length
        )
        accuracies.append(result.accuracy)
        per_seed.append(result)
        if seed == 0:
            checkpoint = setup.folder / "checkpoint"
            model.save_pretrained(checkpoint, safe_serialization=True)
            setup.tokenizer.save_pretrained(checkpoint)
    items = per_seed[0].items
    for index, item in enumerate(items):
        item["correct_by_seed"] = [bool(r.items[index]["correct"]) for r in per_seed]
    outcome = ControlResult(
        plan=asdict(plan),
        task=spec.task,
        accuracy=float(np.mean(accuracies)),
        accuracy_by_seed=accuracies,
        learning_rate=rate,
        search=search,
        items=items,
        train_items=len(setup.train_rows),
        val_items=len(setup.val_rows),
        checkpoint=str(setup.folder / "checkpoint"),
        provenance=_provenance(plan, train, bench),
    )
    atomic_write_text(done, json.dumps(asdict(outcome), indent=1, default=str))
    return outcome


# -- data ------------------------------------------------------------------------------------


def _split(count: int, plan: ControlPlan) -> tuple[np.ndarray, np.ndarray]:
    """Seeded subsample (the budget's cap), then a validation share carved off."""
    order = np.random.default_rng(1234).permutation(count)
    if plan.max_train_items is not None:
        order = order[: plan.max_train_items]
    n_val = max(1, math.ceil(len(order) * plan.val_fraction)) if len(order) > 1 else 0
    return np.sort(order[n_val:]), np.sort(order[:n_val])


# -- training --------------------------------------------------------------------------------


def _fit(model, setup: ControlSetup, lr: float, seed: int, run_dir: Path,
         progress: Progress) -> dict[str, Any]:  # fmt: skip
    """Train one (learning rate, seed) run, validating and checkpointing every period (an epoch,
    or every `eval_steps` steps when that is shorter, and at the last step); keep the weights of
    the best validation (early stopping)."""
    plan, train_rows = setup.plan, setup.train_rows
    run_dir.mkdir(parents=True, exist_ok=True)
    device = next(model.parameters()).device
    steps_per_epoch = math.ceil(len(train_rows) / plan.batch_size)
    period = min(steps_per_epoch, plan.eval_steps or steps_per_epoch)
    total = steps_per_epoch * plan.epochs
    if plan.max_steps is not None:
        total = min(total, plan.max_steps)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=plan.weight_decay,
                                  fused=device.type == "cuda")  # fmt: skip
    warmup = int(plan.warmup * total)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: min(
            (step + 1) / max(warmup, 1), max(total - step, 0) / max(total - warmup, 1)
        ),
    )
    state = {"step": 0, "best_val": -math.inf, "best_step": 0, "curve": [], "stale": 0}
    if (run_dir / "state.json").is_file():  # resume an interrupted run
        state = json.loads((run_dir / "state.json").read_text())
        load_weights(model, run_dir / "last.safetensors")
        moments = torch.load(run_dir / "optimizer.pt", weights_only=True)
        optimizer.load_state_dict(moments["optimizer"])
        schedule.load_state_dict(moments["schedule"])
    task, pad_id = setup.task, setup.tokenizer.pad_token_id
    validation = [setup.examples[i] for i in setup.val_rows]
    stage = f"training {plan.init} control (lr {lr:g}, seed {seed})"
    # bf16 autocast on GPUs that support it; CPU training stays fp32 (one code path either way).
    autocast = torch.autocast(
        "cuda", dtype=torch.bfloat16, enabled=device.type == "cuda" and native_bf16("cuda")
    )
    while state["step"] < total and state["stale"] < plan.patience:
        model.train()
        # Data order comes from (seed, epoch) and dropout masks from (seed, period) alone, so a
        # run resumed at a checkpoint repeats exactly what the interrupted one would have done.
        torch.manual_seed(seed * 10_007 + len(state["curve"]))
        losses = []
        for _ in range(min(period, total - state["step"])):
            epoch, offset = divmod(state["step"], steps_per_epoch)
            if offset == 0 or not losses:
                generator = torch.Generator().manual_seed(seed * 10_007 + epoch)
                order = train_rows[torch.randperm(len(train_rows), generator=generator).numpy()]
            rows = order[offset * plan.batch_size : (offset + 1) * plan.batch_size]
            batch = task.collate([setup.examples[i] for i in rows], pad_id)
            with autocast:
                loss = model(**{k: v.to(device) for k, v in batch.items()}).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(loss.detach())
            state["step"] += 1
            progress(stage, state["step"], total)
        val = task.validate(model, validation, batch_size=plan.batch_size, pad_id=pad_id)
        state["curve"].append({
            "epoch": round(state["step"] / steps_per_epoch, 3), "step": state["step"],
            "train_loss": float(torch.stack(losses).mean()), "val": val,
        })  # fmt: skip
        if val > state["best_val"]:
            state.update(best_val=val, best_step=state["step"], stale=0)
            save_weights(model, run_dir / "best.safetensors")
        else:
            state["stale"] += 1
        save_weights(model, run_dir / "last.safetensors")
        torch.save(
            {"optimizer": optimizer.state_dict(), "schedule": schedule.state_dict()},
            run_dir / "optimizer.pt",
        )
        atomic_write_text(run_dir / "state.json", json.dumps(state))
    summary = {"best_val": state["best_val"], "best_step": state["best_step"],
               "best_epoch": round(state["best_step"] / steps_per_epoch, 3),
               "steps": state["step"], "curve": state["curve"],
               "val_metric": task.val_metric}  # fmt: skip
    atomic_write_text(run_dir / "summary.json", json.dumps(summary))
    return summary


# -- identity and provenance -----------------------------------------------------------------


def _key(plan: ControlPlan, train: Corpus, bench: Corpus, spec: TaskSpec) -> str:
    path = Path(resolve_model(plan.base))
    weights = sorted(path.glob("*.safetensors")) if path.is_dir() else []
    identity = {
        "plan": asdict(plan), "train": train.fingerprint, "bench": bench.fingerprint,
        "task": asdict(spec), "base": str(path), "weights": [w.stat().st_size for w in weights],
        "labels": train.column("label"),
    }  # fmt: skip
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()
    return f"{plan.init}-{digest[:16]}"


def _provenance(plan: ControlPlan, train: Corpus, bench: Corpus) -> dict[str, Any]:
    import transformers

    return {
        "audit": __version__, "torch": torch.__version__, "transformers": transformers.__version__,
        "python": platform.python_version(), "train": train.describe(), "bench": bench.describe(),
    }  # fmt: skip
