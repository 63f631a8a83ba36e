"""`audit run --model MODEL --bench DATA [--train DATA] [--base MODEL]`: the whole audit."""

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from auditor.cli import options as opt
from auditor.cli.console import note, progress_bar
from auditor.cli.control import PretrainSteps
from auditor.cli.membership import Reference
from auditor.cli.probing import CalibrationOptions, ProbeOptions
from auditor.cli.shift import Alpha
from auditor.controls import BUDGETS
from auditor.controls.plan import check_max_minutes
from auditor.errors import InputError
from auditor.shift import DEFAULT_ALPHA


@dataclass
class SamplesOptions:
    """The candidate's scores from lm-evaluation-harness logs instead of an evaluation."""

    candidate_samples: Annotated[
        Path | None,
        typer.Option("--candidate-samples", help="Score the candidate from an "
                     "lm-evaluation-harness samples_<task>_<date>.jsonl (lm_eval --log_samples) "
                     "instead of evaluating it."),
    ] = None  # fmt: skip
    samples_filter: Annotated[
        str | None,
        typer.Option("--filter", help="The samples' filter to read (gsm8k logs strict-match "
                     "and flexible-extract; required when the file has several)."),
    ] = None  # fmt: skip
    samples_metric: Annotated[
        str | None,
        typer.Option("--samples-metric", help="Per-sample metric key (default: the first of "
                     "exact_match, acc, acc_norm the rows name)."),
    ] = None  # fmt: skip

    def source(self) -> dict | None:
        """`auditor.samples.read_samples`'s arguments, or None to evaluate the candidate."""
        if self.candidate_samples is None:
            return None
        return {"path": self.candidate_samples, "filter_name": self.samples_filter,
                "metric": self.samples_metric}  # fmt: skip


@opt.with_options
def run(
    model: opt.ModelData,
    bench: opt.BenchData,
    train: Annotated[
        str | None,
        typer.Option("--train", help="Post-training data (default: the card's train split)."),
    ] = None,
    base: Annotated[
        str | None,
        typer.Option("--base", help="Base model of the controls (default: the candidate)."),
    ] = None,
    reference: Reference = None,
    membership_fpr: Annotated[
        float,
        typer.Option(
            "--membership-fpr",
            min=0.001,
            max=0.5,
            help="Target false-positive rate of the model probes' flags.",
        ),
    ] = 0.01,
    budget: Annotated[
        str, typer.Option("--budget", help=f"Control budget: {', '.join(BUDGETS)}.")
    ] = "quick",
    max_steps: Annotated[
        int | None,
        typer.Option(
            "--max-steps",
            min=1,
            help="Compute cap: most training steps per control run (default: the budget's; "
            "quick 1,000, full none). A control stopped by it while still improving is reported "
            "as not converged, its shares as bounds.",
        ),
    ] = None,
    max_minutes: Annotated[
        float | None,
        typer.Option(
            "--max-minutes",
            help="Compute cap: wall-clock minutes per control, its learning-rate search and "
            "seeds together; each run stops at its first validation past it. Results then "
            "depend on the machine's speed; a control stopped while improving is reported as "
            "not converged.",
        ),
    ] = None,
    controls: Annotated[
        str,
        typer.Option(
            "--controls",
            help="Controls to train, comma-separated: scratch and pretrained (required), and "
            "selfpretrained (the scratch model pretrained on the training text first, which "
            "splits transfer into what that text teaches and external transfer; it costs a "
            "pretraining per seed).",
        ),
    ] = "scratch,pretrained",
    pretrain_steps: PretrainSteps = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            min=1,
            help="Controls trained at once, each in a process of its own, while the probes run "
            "(default: on a CPU one per control while each gets a core, on a GPU 1). Their "
            "threads share the cores; a control's last digits can change with its thread count.",
        ),
    ] = None,
    seeds: Annotated[
        int | None,
        typer.Option(
            "--seeds", min=1, help="Control seeds (default: the budget's; quick 1, full 3)."
        ),
    ] = None,
    alpha: Alpha = DEFAULT_ALPHA,
    probes: ProbeOptions = None,
    calibration: CalibrationOptions = None,
    samples: SamplesOptions = None,
    models: opt.ModelOptions = None,
    output: opt.Output = None,
    runtime: opt.Runtime = None,
    compute: opt.EngineOptions = None,
    data: opt.PairedDataOptions = None,
) -> None:
    """Audit a model's benchmark score: overlap, shift, controls and attribution.

    Runs the overlap and shift probes in one pass over the training data, scores the candidate,
    trains (or reuses) the scratch and pretrained controls, and splits the candidate's accuracy
    above chance into distribution fitting, transfer and residual, with bootstrap intervals
    (with --controls scratch,selfpretrained,pretrained, transfer splits into what the training
    text itself teaches and external transfer).
    A causal-LM candidate also gets the model probes (`audit membership`), against --reference,
    else the pretrained control, else --base. Without training data (no --train, no card train
    split) only the evaluation and the model probes run, and the report says so.
    """
    # Imported here, not at the top: `audit --help` and the option checks need no torch.
    from auditor.run import KINDS, check_controls, default_train, run_audit

    chosen = check_controls(tuple(name.strip() for name in controls.split(",") if name.strip()))
    if pretrain_steps is not None and "selfpretrained" not in chosen:
        raise InputError("--pretrain-steps: only the selfpretrained control pretrains; add it to "
                         "--controls (scratch,selfpretrained,pretrained).")  # fmt: skip
    if budget not in BUDGETS:
        raise InputError(f"--budget must be one of {', '.join(BUDGETS)}, not {budget!r}.")
    check_max_minutes(max_minutes)
    names = probes.names(KINDS, "audit run")
    probe_params = probes.params(selected=names)
    (bench_corpus,) = data.load([(bench, "bench")], runtime.quiet)
    train_source = default_train(bench_corpus, train)
    train_corpus = None
    if train_source is None:
        note("no training data: evaluation and model probes only", runtime.quiet)
    else:
        (train_corpus,) = data.load([(train_source, "train")], runtime.quiet)
    with progress_bar(runtime.quiet) as on_progress:
        report = run_audit(
            model, bench_corpus, train_corpus, base=base, reference=reference, budget=budget,
            controls=chosen, pretrain_steps=pretrain_steps, seeds=seeds, max_steps=max_steps,
            max_minutes=max_minutes,
            membership_fpr=membership_fpr,
            candidate_samples=samples.source(),
            alpha=alpha, seed=runtime.seed, device=runtime.device, cache_dir=runtime.cache_dir,
            batch_size=probes.batch_size, probe_names=names, probe_params=probe_params,
            encoder=probes.encoder, fpr=calibration.fpr, null_size=calibration.null_size,
            on_progress=on_progress, engine=compute.built, jobs=jobs, **models.load_kwargs(),
        )  # fmt: skip
    output.emit(report, runtime.quiet)
