"""`audit control --base MODEL --train DATA --bench DATA --init INIT`.

INIT: scratch, selfpretrained or pretrained.
"""

import json
from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from auditor.cli import options as opt
from auditor.cli.console import progress_bar, stdout
from auditor.controls import BUDGETS, INITS, ControlPlan
from auditor.report import SCHEMA_VERSION
from auditor.tasks import task_of

PretrainSteps = Annotated[
    int | None,
    typer.Option(
        "--pretrain-steps",
        min=1,
        help="selfpretrained: steps of pretraining on the training text (default: the budget's; "
        "quick 300, full 3,000).",
    ),
]


@opt.with_options
def control(
    base: Annotated[
        str, typer.Option("--base", help="Base model: a folder, hf:ORG/NAME, or minilm.")
    ],
    train: opt.TrainData,
    bench: opt.BenchData,
    init: Annotated[
        str,
        typer.Option(
            "--init",
            help=f"Initialisation: {', '.join(INITS)} (random; random, then pretrained on the "
            "training text; the base's weights).",
        ),
    ],
    budget: Annotated[
        str, typer.Option("--budget", help=f"Training budget: {', '.join(BUDGETS)}.")
    ] = "quick",
    max_steps: Annotated[
        int | None, typer.Option("--max-steps", min=1, help="Step cap per run.")
    ] = None,
    max_minutes: Annotated[
        float | None,
        typer.Option("--max-minutes", help="Wall-clock cap for the whole control (search and "
                     "seeds); each run stops at its first validation past it."),
    ] = None,
    epochs: Annotated[int | None, typer.Option("--epochs", min=1, help="Epochs per run.")] = None,
    lr: Annotated[
        list[float] | None,
        typer.Option("--lr", help="Learning rates to search (repeatable; default: the budget's)."),
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", min=1, help="Training batch size.")
    ] = None,
    seeds: Annotated[
        int | None,
        typer.Option("--seeds", min=1, help="Seeds at the chosen rate (default: the budget's)."),
    ] = None,
    pretrain_steps: PretrainSteps = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted run.")] = False,
    output: opt.JsonOutput = None,
    models: opt.ModelOptions = None,
    runtime: opt.Runtime = None,
    data: opt.PairedDataOptions = None,
) -> None:
    """Fine-tune a control model on the training data and score it on the benchmark.

    scratch: the base's architecture with seeded random initialisation; selfpretrained: the
    scratch model first pretrained on the training items' text with the base's objective (masked
    LM for an encoder, causal LM for a decoder); pretrained: the base's weights. Tokenizer, data,
    validation split, learning-rate search, budget and seeds are the same for all; each picks its
    own learning rate and best epoch on the validation split.
    """
    # Imported here, not at the top: `audit --help` and the option checks need no torch.
    from auditor.controls import run_control

    quiet = runtime.quiet
    plan = ControlPlan.from_budget(
        base, init, budget, max_steps=max_steps, max_minutes=max_minutes, epochs=epochs,
        learning_rates=tuple(lr) if lr else None, batch_size=batch_size, seeds=seeds,
        split_seed=runtime.seed, pretrain_steps=pretrain_steps,
    )  # fmt: skip
    bench_corpus, train_corpus = data.load([(bench, "bench"), (train, "train")], quiet)
    spec = task_of(bench_corpus, train_corpus)
    with progress_bar(quiet) as on_progress:
        result = run_control(
            plan, train_corpus, bench_corpus, spec, cache_dir=runtime.cache_dir,
            device=runtime.device, resume=resume, on_progress=on_progress, **models.load_kwargs(),
        )  # fmt: skip
    payload = json.dumps({"schema_version": SCHEMA_VERSION, **asdict(result)}, indent=2,
                         default=str)  # fmt: skip
    if not output.emit(payload, quiet):
        return
    table = Table(
        title=Text(f"{init} control of {base}: {train_corpus.source} -> {bench_corpus.source}")
    )
    for column in ("learning rate", "best validation", "best epoch", "steps"):
        table.add_column(column, justify="right")
    for row in result.search:
        chosen = " (chosen)" if row["learning_rate"] == result.learning_rate else ""
        table.add_row(f"{row['learning_rate']:g}{chosen}", f"{row['best_val']:.3f}",
                      f"{row['best_epoch']:g}", str(row["steps"]))  # fmt: skip
    stdout.print(table)
    count = len(result.accuracy_by_seed)
    spread = f" ± {result.accuracy_std:.3f} over {count} seeds" if count > 1 else ""
    chance = f" (chance {spec.chance:.3f})" if spec.chance is not None else ""
    stdout.print(
        f"Benchmark accuracy {result.accuracy:.3f}{spread}{chance}; trained on "
        f"{result.train_items:,} items, validated on {result.val_items:,}; checkpoint "
        f"{result.checkpoint}"
    )
