"""`audit run`: one pipeline from data to attribution.

load -> overlap and shift probes (one streamed pass) -> evaluate the candidate -> train or reuse
the scratch and pretrained controls (and the self-pretrained one, when asked) -> attribution ->
model probes (a causal-LM candidate) -> report. Without training data (no --train, no card train
split) only the candidate's evaluation and the model probes run, and the report says the
attribution needs training data.

The candidate is scored as it is when it has a head for the benchmark's task (a classifier with
the benchmark's labels, or a causal LM for generation and multiple choice). A base model without
such a head cannot answer the benchmark until it is fine-tuned, so its score is the pretrained
control's (it *is* the base fine-tuned on the training data) and the residual share is zero by
construction; the report says which case applied.
"""

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from auditor import __version__, cards
from auditor.attribution import Scores, attribute
from auditor.cache import atomic_write_text, default_cache_dir
from auditor.calibration import DEFAULT_FPR, null_context
from auditor.controls import INITS, ControlPlan, ControlResult
from auditor.controls.parallel import controls_started, default_jobs
from auditor.corpus import Corpus
from auditor.embeddings import Encoder, resolve_device
from auditor.errors import InputError
from auditor.membership import CONTROL, model_evidence
from auditor.membership import DEFAULT_FPR as DEFAULT_MEMBERSHIP_FPR
from auditor.models import load_config, load_model, load_tokenizer
from auditor.overlap import DEFAULT_NULL_SIZE
from auditor.overlap import assemble as assemble_overlap
from auditor.provenance import git_hash, provenance
from auditor.report import ControlSummary, ModelScore, OverlapReport, RunReport, ShiftReport
from auditor.samples import read_samples
from auditor.scan import DEFAULT_BATCH_SIZE, Engine, Progress, run_probes
from auditor.shift import DEFAULT_ALPHA
from auditor.shift import assemble as assemble_shift
from auditor.tasks import TASKS, TaskSpec, task_of
from probes import build_probes, probes_of_kind
from probes.base import FitContext, Probe

KINDS = ("overlap", "shift")
"""The probe kinds `audit run` runs over the training data."""


NO_TRAINING_DATA = (
    "no training data (no --train, and the benchmark has no card with a train split), so "
    "there is nothing to search for leaked items and no control to train: pass the "
    "post-training data with --train DATA for the overlap, shift and attribution"
)


DEFAULT_CONTROLS = ("scratch", "pretrained")
"""The controls `audit run` trains unless asked: the self-pretrained control is opt-in, because at
the quick budget on TREC its pretraining cost 2.5 times the whole scratch control and left a worse
start (0.43 vs 0.78; README "Controls")."""
REQUIRED_CONTROLS = ("scratch", "pretrained")
"""The attribution needs both ends: fitting is read off the scratch control, transfer off the
pretrained one."""


def check_controls(controls: tuple[str, ...]) -> tuple[str, ...]:
    """The controls to train, in `INITS` order; an input error for an unknown or missing one."""
    unknown = [name for name in controls if name not in INITS]
    if unknown:
        raise InputError(f"--controls: unknown control {unknown[0]!r}; the controls are "
                         f"{', '.join(INITS)}.")  # fmt: skip
    missing = [name for name in REQUIRED_CONTROLS if name not in controls]
    if missing:
        raise InputError(f"--controls: the attribution needs the {' and '.join(missing)} "
                         f"control (give at least {','.join(REQUIRED_CONTROLS)}).")  # fmt: skip
    return tuple(name for name in INITS if name in controls)


def default_train(bench: Corpus, train: str | None) -> str | None:
    """--train, else the benchmark card's train split, else None (a run without training data)."""
    if train is not None:
        return train
    name = bench.source.partition(":")[0]
    if cards.is_card(name) and "train" in cards.load_card(name).splits:
        return f"{name}:train"
    return None


def score_candidate(model: str, spec: TaskSpec, bench: Corpus, device: str, **load) -> Any:
    """The candidate's evaluation, or None when it has no head for this task (a base model)."""
    task = TASKS.get(spec.task)
    if task.why_unfit(load_config(model, load.get("trust_remote_code", False)), spec):
        return None  # decided from the config: no weights loaded for a model that cannot answer
    try:
        network = load_model(model, task.head, **load).to(resolve_device(device))
    except InputError:
        if task.head == "causal":
            raise
        return None
    tokenizer = load_tokenizer(model, trust_remote_code=load.get("trust_remote_code", False))
    return task.evaluate(network, tokenizer, bench, spec)


def candidate_score(
    model: str,
    spec: TaskSpec,
    bench: Corpus,
    device: str,
    samples: dict[str, Any] | None = None,
    **load,
) -> ModelScore | None:
    """The candidate as it is: read from lm-evaluation-harness samples when given (`samples`:
    `read_samples`'s path, filter_name and metric), else evaluated; None for a base model."""
    if samples is not None:
        accuracy, items, how = read_samples(bench=bench, **samples)
        return ModelScore(model=model, accuracy=accuracy, items=items, how=how)
    evaluated = score_candidate(model, spec, bench, device, **load)
    if evaluated is None:
        return None
    return ModelScore(model=model, accuracy=evaluated.accuracy, items=evaluated.items,
                      how="evaluated as is")  # fmt: skip


def probe_reports(
    train: Corpus,
    bench: Corpus,
    *,
    probes: list[Probe],
    encoder: str,
    alpha: float,
    device: str,
    cache_dir: Path | None,
    batch_size: int,
    on_progress: Progress | None,
    fpr: float = DEFAULT_FPR,
    null_size: int = DEFAULT_NULL_SIZE,
    seed: int = 0,
    engine: Engine | None = None,
) -> tuple[OverlapReport, ShiftReport]:
    """The overlap and shift reports from one streamed pass (on `engine`), cached by everything
    that determines them (data fingerprints and sources, probe parameters, tool version and git
    hash; not the engine, which does not change them), so a repeated run reads them back instead
    of rescanning."""
    identity = {
        "train": [train.source, train.fingerprint], "bench": [bench.source, bench.fingerprint],
        "probes": {probe.name: probe.get_params() for probe in probes}, "alpha": alpha,
        "calibration": [fpr, null_size, seed],
        "batch_size": batch_size, "tool": [__version__, git_hash()],
    }  # fmt: skip
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode())
    path = Path(cache_dir or default_cache_dir()) / "runs" / f"{digest.hexdigest()[:20]}.json"
    if path.is_file():
        try:
            cached = json.loads(path.read_text())
            return OverlapReport(**cached["overlap"]), ShiftReport(**cached["shift"])
        except (ValueError, KeyError, TypeError):
            pass  # unreadable: recompute and overwrite
    context = FitContext(encoder=Encoder(encoder, device=device, cache_dir=cache_dir))
    context = null_context(train, bench, probes, context, fpr=fpr, size=null_size, seed=seed)
    results = run_probes(train, bench, probes, context=context, batch_size=batch_size,
                         on_progress=on_progress, engine=engine)  # fmt: skip
    pairs = list(zip(probes, results, strict=True))
    overlap = assemble_overlap(train, bench, *_of_kind(pairs, "overlap"), null=context.null,
                               fpr=fpr)  # fmt: skip
    shift = assemble_shift(train, bench, *_of_kind(pairs, "shift"), alpha)
    payload = {"overlap": overlap.model_dump(mode="json"), "shift": shift.model_dump(mode="json")}
    atomic_write_text(path, json.dumps(payload))
    return overlap, shift


def _of_kind(pairs: list, kind: str) -> tuple[list, list]:
    """The (probes, results) of one kind, in order."""
    chosen = [(probe, result) for probe, result in pairs if probe.kind == kind]
    return [p for p, _ in chosen], [r for _, r in chosen]


def run_audit(
    model: str,
    bench: Corpus,
    train: Corpus | None,
    *,
    base: str | None = None,
    reference: str | None = None,
    budget: str = "quick",
    controls: tuple[str, ...] = DEFAULT_CONTROLS,
    pretrain_steps: int | None = None,
    seeds: int | None = None,
    max_steps: int | None = None,
    max_minutes: float | None = None,
    alpha: float = DEFAULT_ALPHA,
    seed: int = 0,
    device: str = "cpu",
    cache_dir: Path | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    allow_pickle: bool = False,
    trust_remote_code: bool = False,
    probe_names: list[str] | None = None,
    probe_params: dict[str, dict[str, Any]] | None = None,
    encoder: str = "minilm",
    fpr: float = DEFAULT_FPR,
    null_size: int = DEFAULT_NULL_SIZE,
    membership_fpr: float = DEFAULT_MEMBERSHIP_FPR,
    candidate_samples: dict[str, Any] | None = None,
    on_progress: Progress | None = None,
    engine: Engine | None = None,
    jobs: int | None = None,
) -> RunReport:
    """The whole audit; `train` None runs the candidate's evaluation and model probes only.
    `engine`: where the pass over `train` runs (default: this machine); `jobs`: controls trained
    at once in their own processes, while the probes run here (default: `default_jobs`)."""
    load = {"allow_pickle": allow_pickle, "trust_remote_code": trust_remote_code}
    spec = task_of(bench, train)
    if spec.chance is None:
        raise InputError(f"{bench.source}: the benchmark's chance accuracy is unknown.")
    config = {"model": model, "base": base or model, "reference": reference,
              "bench": bench.source, "train": train.source if train else None, "budget": budget,
              "controls": list(check_controls(controls)), "pretrain_steps": pretrain_steps,
              "max_steps": max_steps,
              "max_minutes": max_minutes,
              "alpha": alpha, "seed": seed, "device": device, "batch_size": batch_size,
              "fpr": fpr, "null_size": null_size, "membership_fpr": membership_fpr}  # fmt: skip
    task = {"type": spec.task, "chance": spec.chance, "labels": spec.label_names}
    evidence = {"bench": bench, "task": spec.task, "device": device, "fpr": membership_fpr,
                "seed": seed, "on_progress": on_progress, **load}  # fmt: skip
    if train is None:
        candidate = candidate_score(model, spec, bench, device, candidate_samples, **load)
        if candidate is None:
            raise InputError(f"{model}: it has no head for this {spec.task} benchmark, and "
                             "without training data no control can be scored in its place: "
                             "pass --train DATA.")  # fmt: skip
        references = [(reference, "--reference"), (base, "--base")]
        return RunReport(
            provenance=provenance(), config={**config, "probes": []}, task=task, overlap=None,
            shift=None, controls={}, attribution=None, no_training_data=NO_TRAINING_DATA,
            candidate=candidate,
            membership=model_evidence(model, references=_usable(references, model), **evidence),
        )  # fmt: skip
    names = probe_names or probes_of_kind(*KINDS)
    shared = {"seed": seed, "device": device, "model": encoder}
    probes = build_probes(names, probe_params, shared=shared)
    chosen = check_controls(controls)
    plans = [ControlPlan.from_budget(base or model, init, budget, seeds=seeds, split_seed=seed,
                                     max_steps=max_steps, max_minutes=max_minutes,
                                     **({"pretrain_steps": pretrain_steps}
                                        if init == "selfpretrained" else {}))
             for init in chosen]  # fmt: skip
    jobs = default_jobs(device, len(plans)) if jobs is None else jobs
    with controls_started(plans, train, bench, spec, jobs=jobs, on_progress=on_progress,
                          cache_dir=cache_dir, device=device, **load) as pending:  # fmt: skip
        overlap, shift = probe_reports(train, bench, probes=probes, encoder=encoder, alpha=alpha,
                                       device=device, cache_dir=cache_dir,
                                       batch_size=batch_size, on_progress=on_progress, fpr=fpr,
                                       null_size=null_size, seed=seed, engine=engine)  # fmt: skip
        evaluated = candidate_score(model, spec, bench, device, candidate_samples, **load)
        base = base or model
        if evaluated is None and base != model:
            raise InputError(
                f"{model}: it has no head for this {spec.task} benchmark (labels "
                f"{spec.label_names}), so it cannot be scored as the candidate."
            )
        trained = pending.results()
    if evaluated is None:
        candidate = ModelScore(model=model, accuracy=trained["pretrained"].accuracy,
                               items=trained["pretrained"].items,
                               how="a base model with no head for this task: scored as its "
                                   "fine-tuned self, the pretrained control")  # fmt: skip
    else:
        candidate = evaluated
    # items x seeds: the attribution's bootstrap draws seeds as well as items
    by_seed = {init: np.array([i["correct_by_seed"] for i in c.items], dtype=float)
               for init, c in trained.items()}  # fmt: skip
    scores = Scores(
        candidate=(by_seed["pretrained"] if evaluated is None
                   else np.array([float(i["correct"]) for i in candidate.items])),
        **by_seed,
    )  # fmt: skip
    measure = shift.provides.get("in_distribution")
    typicality = (
        np.array([item.scores[measure] for item in shift.items], dtype=float) if measure else None
    )
    flagged = np.array([item.flagged for item in overlap.items])
    attribution = attribute(scores, spec.chance, seed=seed, flagged=flagged,
                            typicality=typicality,
                            controls={k: c.convergence for k, c in trained.items()},
                            residual_by_construction=evaluated is None)  # fmt: skip
    # the pretrained control is the base fine-tuned on the declared data: the natural reference
    control = (trained["pretrained"].checkpoint
               if TASKS.get(spec.task).head == "causal" else None)  # fmt: skip
    references = [(reference, "--reference"), (control, CONTROL), (base, "--base")]
    return RunReport(
        provenance=provenance(),
        config={**config, "seeds": plans[0].seeds, "jobs": jobs,
                "probes": [probe.name for probe in probes]},
        task=task,
        overlap=overlap,
        shift=shift,
        candidate=candidate,
        controls={init: summarise(init, result) for init, result in trained.items()},
        attribution=attribution,
        membership=model_evidence(model, references=_usable(references, model),
                                  overlap_flags=flagged, **evidence),
    )  # fmt: skip


def _usable(references: list[tuple[str | None, str]], model: str) -> list[tuple[str, str]]:
    """The candidate references that exist and are not the model itself, in order."""
    return [(name, how) for name, how in references if name and name != model]


def summarise(init: str, result: ControlResult) -> ControlSummary:
    fields = {key: getattr(result, key) for key in ControlSummary.model_fields if key != "init"}
    return ControlSummary(init=init, **fields)
