"""What determines a control: the initialisations, the training budgets, and the plan.

A plan is everything but the data that decides what a control learns; its fields (with the data's
fingerprints) make the control's cache key, so a finished control is reused only when nothing that
shaped it has changed.
"""

from dataclasses import dataclass

from auditor.errors import InputError

INITS = ("scratch", "selfpretrained", "pretrained")

PRETRAIN_FIELDS = ("pretrain_steps", "pretrain_lr", "mlm_probability")
"""The plan's pretraining settings: in the cache key of a selfpretrained control only, so that
the other controls' keys (and caches) stay as they were."""

DEFAULT_SPLIT_SEED = 0
"""The seed of the training subsample and validation split: the commands' one default seed.
(The README's measured control figures used 1234, `benchmarks/controls.py --split-seed`.)"""


@dataclass(frozen=True)
class Budget:
    max_train_items: int | None
    epochs: int
    max_steps: int | None
    learning_rates: tuple[float, ...]
    patience: int
    eval_steps: int | None = None
    seeds: int = 1
    pretrain_steps: int = 0
    """Steps of the self-pretrained control's pretraining on the training text (its other inits
    pretrain nothing)."""
    validations_per_epoch: int = 2
    smoothing: int = 3


BUDGETS = {
    "quick": Budget(max_train_items=2000, epochs=20, max_steps=1000,
                    learning_rates=(5e-5, 5e-4), patience=4, pretrain_steps=300),
    "full": Budget(max_train_items=None, epochs=20, max_steps=None,
                   learning_rates=(2e-5, 5e-5, 1e-4, 3e-4, 1e-3), patience=4, eval_steps=1000,
                   seeds=3, pretrain_steps=3000),
}  # fmt: skip
"""quick: TREC-size data on 2 CPU cores in minutes: at most 2,000 items (400 of them validation),
one seed, up to 20 epochs or 1,000 steps with early stopping. The old quick budget (3 epochs, 250
steps, patience 3 on the raw validation curve) left the scratch control short or at a noisy peak;
`benchmarks/selection.py` replays stopping rules on recorded TREC runs (3 seeds, 500 steps): the
raw best with patience 3-4 kept 0.734 +- 0.040 benchmark accuracy, the smoothed curve with the
averaged window 0.763 +- 0.007. On 2 quiet cores the whole `make demo` audit (MiniLM on TREC,
both controls) took 4.5 minutes; its scratch control stopped on patience at step 475 (best 375).
full: every training item, up to 20 epochs with early stopping, validating at least every 1,000
steps so that a large training set (GLUE's 67k SST-2 phrases: 2,100 steps an epoch) stops near
its best point, and 3 seeds at the chosen rate (the intervals then carry seed variance).

Pretraining of the self-pretrained control (`controls/selfpretrain.py`), chosen on CPU with TREC
under the earlier 250-step quick budget: 300 steps of 32 items, 5 passes over 1,800 training
items. MiniLM-L6's masked-LM loss there falls from 10.3 (chance over its 30k tokens) to 6.0 by
step 135 and stays at 5.7-6.0 for the rest (peak rate 5e-4, decaying to zero), so more steps at
the quick budget would buy little. A masked-LM step costs about twice a fine-tuning step (the
output layer spans the vocabulary): the 300 steps took 251 s on 2 quiet cores and left MiniLM a
worse start than random initialisation for that quick fine-tuning (TREC 0.43 vs 0.78; README
"Controls"). full: 3,000 steps, about 20 passes over TREC's 4,900 training items, the order of
the downstream-only pretraining of Amos, Berant & Gupta (2024): a choice of scale, not measured
(hours on a CPU)."""


def check_max_minutes(minutes: float | None) -> None:
    if minutes is not None and not minutes > 0:  # NaN too
        raise InputError(f"--max-minutes {minutes:g}: a time cap must be above 0 minutes.")


@dataclass(frozen=True)
class ControlPlan:
    """Everything that determines a control: its cache key is a hash of this and the data."""

    base: str
    init: str
    budget: str = "quick"
    learning_rates: tuple[float, ...] = ()
    epochs: int = 0
    max_steps: int | None = None
    max_minutes: float | None = None
    """Wall-clock cap on the whole control (its learning-rate search and seeds together): each
    run stops at its first validation past the deadline, having validated at least once. What
    it learns then depends on the machine's speed; the report records the cap."""
    max_train_items: int | None = None
    patience: int = 4
    """Validations without a new best of the smoothed curve before a run stops."""
    eval_steps: int | None = None
    """Validate (and checkpoint) every this many steps when that is more often than
    `validations_per_epoch` would; patience counts validations."""
    validations_per_epoch: int = 2
    smoothing: int = 3
    """Validations in the trailing mean that early stopping and selection read, and checkpoints
    averaged into the kept weights (`controls.checkpoints`); 1: the raw best validation."""
    batch_size: int = 32
    warmup: float = 0.06
    weight_decay: float = 0.01
    val_fraction: float = 0.1
    min_val_items: int = 400
    """The validation split is `val_fraction` of the items, at least this many, at most a
    quarter of them (`controls.data.split`)."""
    max_length: int = 128
    seeds: int = 1
    split_seed: int = DEFAULT_SPLIT_SEED
    """Seed of the training subsample and the validation split (`audit control --seed`); the
    training seeds are 0 .. seeds - 1 whatever it is."""
    pretrain_steps: int = 0
    """Self-pretrained control: steps of pretraining on the training rows' text (masked LM for
    an encoder, causal LM for a decoder) before fine-tuning; 0 for the other inits."""
    pretrain_lr: float = 5e-4
    """Peak learning rate of that pretraining (same warmup share, decay and clipping)."""
    mlm_probability: float = 0.15
    """Share of tokens masked by the masked-LM objective (BERT's 15%)."""

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
            "patience": chosen.patience, "eval_steps": chosen.eval_steps, "seeds": chosen.seeds,
            "validations_per_epoch": chosen.validations_per_epoch,
            "smoothing": chosen.smoothing,
            "pretrain_steps": chosen.pretrain_steps if init == "selfpretrained" else 0,
        }  # fmt: skip
        values.update({k: v for k, v in overrides.items() if v is not None})
        values["learning_rates"] = tuple(values["learning_rates"])
        check_max_minutes(values.get("max_minutes"))
        bad = [rate for rate in values["learning_rates"] if not 0 < rate < 1]  # NaN too
        if bad:
            raise InputError(f"--lr {bad[0]:g}: a learning rate must be above 0 and below 1 "
                             "(1e-5 to 1e-3 are usual).")  # fmt: skip
        if init != "selfpretrained" and values["pretrain_steps"]:
            raise InputError(f"--pretrain-steps: only the selfpretrained control pretrains, not "
                             f"{init}.")  # fmt: skip
        if init == "selfpretrained" and values["pretrain_steps"] < 1:
            raise InputError("--pretrain-steps must be at least 1 for a selfpretrained control.")
        return cls(base=base, init=init, budget=budget, **values)
