"""`audit eval --model MODEL --bench DATA`: score a model, keeping every item's correctness."""

import json
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from auditor.cli import options as opt
from auditor.cli.console import note, stdout
from auditor.errors import InputError
from auditor.report import SCHEMA_VERSION
from auditor.tasks import TASKS, task_of


@opt.with_options
def evaluate(
    model: opt.ModelData,
    bench: opt.BenchData,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Items per forward pass.")
    ] = 16,
    max_new_tokens: Annotated[
        int,
        typer.Option("--max-new-tokens", min=1, help="Generation: most tokens generated per item."),
    ] = 256,
    output: opt.JsonOutput = None,
    models: opt.ModelOptions = None,
    runtime: opt.Runtime = None,
    data: opt.DataOptions = None,
) -> None:
    """Score a model on a benchmark: classification, generation or multiple choice.

    Classification needs a sequence-classification checkpoint whose labels are the benchmark's;
    generation and multiple choice need a causal LM (greedy decoding; log-likelihood of each
    choice). Weights load from safetensors only unless --allow-pickle.
    """
    # Imported here, not at the top: `audit --help` and the option checks need no torch.
    from auditor.embeddings import resolve_device
    from auditor.models import load_config, load_model, load_tokenizer

    quiet = runtime.quiet
    (corpus,) = data.load([bench], quiet)
    spec = task_of(corpus)
    task = TASKS.get(spec.task)
    reason = task.why_unfit(load_config(model, models.trust_remote_code), spec)
    if reason:  # before the weights load, and long before a useless generation
        raise InputError(f"{model}: {reason}.")
    tokenizer = load_tokenizer(model, trust_remote_code=models.trust_remote_code)
    network = load_model(model, task.head, **models.load_kwargs())
    network.to(resolve_device(runtime.device))
    note(f"evaluating {model} on {corpus.source} ({spec.task}, {len(corpus):,} items)", quiet)
    result = task.evaluate(network, tokenizer, corpus, spec, batch_size=batch_size,
                           max_new_tokens=max_new_tokens)  # fmt: skip
    payload = json.dumps({
        "schema_version": SCHEMA_VERSION, "model": model, "bench": corpus.describe(),
        "task": spec.task, "accuracy": result.accuracy, "chance": spec.chance, **result.extra,
        "items": result.items,
    }, indent=2)  # fmt: skip
    if not output.emit(payload, quiet):
        return
    table = Table(title=Text(f"{model} on {corpus.source}"))
    for column in ("task", "items", "accuracy", "chance", *result.extra):
        table.add_column(column, justify="right")
    extra = [f"{value:.3f}" for value in result.extra.values()]
    chance = "—" if spec.chance is None else f"{spec.chance:.3f}"
    table.add_row(spec.task, f"{len(corpus):,}", f"{result.accuracy:.3f}", chance, *extra)
    stdout.print(table)
