"""Running a control: prepare its data and folder, search learning rates, score the best.

Each control lives in a cache folder named by its init and a hash of everything that determines
it (plan, data fingerprints, task, base weights); each (learning rate, seed) run trains in its own
subfolder, and the scored result is `result.json` there, so a finished control is read back, not
retrained, and an interrupted one resumes.
"""

import hashlib
import json
import platform
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_model as load_weights

from auditor import __version__
from auditor.cache import atomic_write_text, default_cache_dir
from auditor.controls import selfpretrain, training
from auditor.controls.checkpoints import describe, prune
from auditor.controls.convergence import RULE, diagnose
from auditor.controls.data import training_data
from auditor.controls.plan import PRETRAIN_FIELDS, ControlPlan
from auditor.controls.search import successive_halving
from auditor.controls.training import Progress, silent
from auditor.corpus import Corpus
from auditor.embeddings import resolve_device
from auditor.errors import InputError
from auditor.models import (
    build_from_config,
    load_config,
    load_model,
    load_tokenizer,
    resolve_model,
)
from auditor.tasks import TASKS, TaskSpec
from auditor.tasks.base import Task


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
    convergence: dict[str, Any] = field(default_factory=dict)
    """Whether every seed's run at the chosen rate converged (`controls.convergence`)."""
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def accuracy_std(self) -> float:
        return float(np.std(self.accuracy_by_seed))


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

    def fresh_model(self, seed: int, progress: Progress | None = None) -> Any:
        """The control's starting point for `seed`, as fp32 weights on the training device; for
        the selfpretrained control, the scratch model of `seed` with its weights pretrained on
        the training text (pretrained first, reporting to `progress`, when not saved yet)."""
        plan, overrides, head = self.plan, self.task.head_overrides(self.spec), self.task.head
        if plan.init in ("scratch", "selfpretrained"):
            model = build_from_config(plan.base, head, seed, **overrides)
            if plan.init == "selfpretrained":
                weights = selfpretrain.backbone(self, seed, progress or silent)
                selfpretrain.load_backbone(self, model, weights)
        else:
            torch.manual_seed(seed)  # the new head's initialisation
            # fp32 master weights like the scratch control's, whatever dtype the checkpoint has.
            model = load_model(plan.base, head, allow_pickle=self.allow_pickle,
                               trust_remote_code=self.trust_remote_code, dtype=torch.float32,
                               **overrides)  # fmt: skip
        if model.config.pad_token_id is None:
            model.config.pad_token_id = self.tokenizer.pad_token_id
        return model.to(self.device)

    def train(
        self,
        lr: float,
        seed: int,
        progress: Progress | None = None,
        until: int | None = None,
        deadline: float | None = None,
    ) -> dict[str, Any]:
        """Train (or reuse) the run at (`lr`, `seed`), to its end or, with `until`, to the first
        validation at or past that step, or the first past `deadline` (`training.fit`); its
        summary: best validation, curve, finished."""
        run_dir = self.folder / f"lr-{lr:g}-seed-{seed}"
        if (run_dir / "summary.json").is_file():
            return json.loads((run_dir / "summary.json").read_text())
        # training.fit, not an imported name: tests replace it to prove a cached run is reused.
        return training.fit(self.fresh_model(seed, progress), self, lr, seed, run_dir,
                            progress or silent, until, deadline)  # fmt: skip


def control_folder(plan: ControlPlan, train: Corpus, bench: Corpus, spec: TaskSpec,
                   cache_dir: Path | None = None) -> Path:  # fmt: skip
    return Path(cache_dir or default_cache_dir()) / "controls" / _key(plan, train, bench, spec)


def check_base(plan: ControlPlan, spec: TaskSpec, trust_remote_code: bool = False) -> None:
    """An input error when the task's control cannot be trained from this base (its config
    says so: no weights loaded, nothing trained)."""
    reason = TASKS.get(spec.task).why_unfit_base(load_config(plan.base, trust_remote_code))
    if reason:
        raise InputError(f"--base {plan.base}: {reason}.")


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
    check_base(plan, spec, trust_remote_code)
    folder = control_folder(plan, train, bench, spec, cache_dir)
    if folder.exists() and not resume:
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = load_tokenizer(plan.base, trust_remote_code=trust_remote_code)
    examples, train_rows, val_rows = training_data(train, spec, tokenizer, plan)
    target = torch.device(resolve_device(device))
    return ControlSetup(plan, spec, folder, tokenizer, examples, train_rows, val_rows, target,
                        allow_pickle, trust_remote_code)  # fmt: skip


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
    progress = on_progress or silent
    done = control_folder(plan, train, bench, spec, cache_dir) / "result.json"
    if done.is_file():
        return ControlResult(**json.loads(done.read_text()))
    setup = prepare_control(plan, train, bench, spec, cache_dir=cache_dir, device=device,
                            resume=resume, allow_pickle=allow_pickle,
                            trust_remote_code=trust_remote_code)  # fmt: skip
    deadline = time.monotonic() + 60 * plan.max_minutes if plan.max_minutes else None
    rate, search = successive_halving(
        plan.learning_rates, lambda lr, until=None: setup.train(lr, 0, progress, until, deadline)
    )
    accuracies, per_seed, runs = [], [], []
    for seed in range(plan.seeds):
        runs.append(diagnose(setup.train(rate, seed, progress, deadline=deadline), plan.patience))
        model = setup.fresh_model(seed)
        load_weights(model, setup.folder / f"lr-{rate:g}-seed-{seed}" / "best.safetensors")
        progress(f"scoring {plan.init} control on the benchmark", 0, 1)
        result = setup.task.evaluate(
            model, setup.tokenizer, bench, spec, max_length=plan.max_length
        )
        progress(f"scoring {plan.init} control on the benchmark", 1, 1)
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
        convergence={"converged": all(run["converged"] for run in runs),
                     "train_loss_falling": any(run["train_loss_falling"] for run in runs),
                     "rule": RULE, "runs": runs, "sample": _sample(setup),
                     "selection": describe(plan.validations_per_epoch, plan.smoothing,
                                           plan.patience)},
        provenance=_provenance(plan, train, bench),
    )  # fmt: skip
    atomic_write_text(done, json.dumps(asdict(outcome), indent=1, default=str))
    prune(setup.folder)
    return outcome


def _sample(setup: ControlSetup) -> dict[str, int] | None:
    """The items the control trained and validated on, of all the training items, when the
    budget's cap left some out (the quick budget): a control that saw only part of the data
    says what fitting that part gives, a lower estimate of fitting the whole."""
    used, available = len(setup.train_rows) + len(setup.val_rows), len(setup.examples)
    return {"items": used, "of": available} if used < available else None


def _key(plan: ControlPlan, train: Corpus, bench: Corpus, spec: TaskSpec) -> str:
    """The control's folder name: its init, and a hash of everything that shapes it (the base's
    path and weight sizes stand in for hashing gigabytes of weights)."""
    path = Path(resolve_model(plan.base))
    weights = sorted(path.glob("*.safetensors")) if path.is_dir() else []
    settings = {name: value for name, value in asdict(plan).items()
                if plan.init == "selfpretrained" or name not in PRETRAIN_FIELDS}  # fmt: skip
    identity = {
        "cache": 6,  # 6: bf16 validation; 5: the search's grace period; 4: the sample record
        "plan": settings, "train": train.fingerprint, "bench": bench.fingerprint,
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
        "threads": torch.get_num_threads(),  # the last bits of what it learns depend on them
    }  # fmt: skip
