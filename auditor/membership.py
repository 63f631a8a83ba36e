"""The membership audit: model probes over the benchmark, flags calibrated on a null, the report.

Every model probe (`probes.membership`) scores every item, higher = more likely seen in training.
Flags need a null: what the score looks like on items the model did not see. Two come from a
reference model (one that did not see the benchmark):

- a probe scoring the audited model alone (loss, zlib, mink, minkpp, rewrite) also scores the
  items under the reference; that distribution, shifted by the median paired difference between
  the two models (their overall strength gap, robustly estimated while fewer than half the items
  were seen), is the null: an item is flagged above its (1 - fpr) quantile;
- the `reference` probe's score is already the paired difference; its null is the bulk of the
  differences themselves (median and 1.4826 x median absolute deviation, a normal tail at fpr):
  Efron's empirical null, valid while fewer than half the items were seen (more only raises
  the null: fewer flags, never more).

Without a reference no probe flags anything: the scores rank items and, with training data,
are compared with the overlap probes' verdicts (AUROC); the report says plainly that
reference-free scores are weak on in-distribution data. The items and the summary carry one
probe's score and flags (`SUMMARY_ORDER`: the first that is calibrated).
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from auditor.corpus import Corpus
from auditor.errors import InputError
from auditor.excerpt import excerpt
from auditor.report import (
    CorpusInfo,
    MembershipItem,
    MembershipItemProbe,
    MembershipProbe,
    MembershipReport,
    MembershipSummary,
    TestSummary,
)
from auditor.scan import check_requirements
from probes.base import FitContext, LoadedModel, Probe, ProbeResult
from probes.membership import OTHER_TOKENS

DEFAULT_FPR = 0.01
SUMMARY_ORDER = ("mink", "minkpp", "loss", "rewrite", "reference", "zlib")
"""Which probe the items and the summary carry: the first calibrated one in this order, the
order of the seen items each flagged at a 5% target rate in `benchmarks/membership.py` (three
seeds of three tiny GPT-2s, 50 of 100 GSM8K items seen: mink 22-45, minkpp 3-33, loss 3-24,
rewrite 12-16, reference 3-10, zlib 2-7; each at most 8 of 100 on a clean model)."""
MAD_SCALE = 1.4826
"""Median absolute deviation -> standard deviation of a normal distribution."""
WEAK = (
    "Reference-free membership scores are weak on in-distribution data (Duan et al. 2024: AUROC "
    "near 0.5 on the Pile; Min-K%++ reports 0.64 on WikiMIA for Pythia-2.8B): they rank items, "
    "they do not show which were seen."
)


NULLS = {
    "reference": "probes scoring the audited model alone are flagged above the (1 - fpr) "
    "quantile of the reference model's scores on the same items, shifted by the median paired "
    "difference (the models' overall gap)",
    "empirical": "the reference probe's differences are flagged above the normal (1 - fpr) "
    "quantile of their own bulk (median, 1.4826 x MAD), which holds while fewer than half the "
    "items were seen (more only lowers the flags)",
}
"""The two nulls in words (the report's note); each probe's `null` names its own numbers."""


CONTROL = "the pretrained control"
"""`audit run`'s default reference: the base fine-tuned on the declared data by the audit."""
CONTROL_CAVEAT = (
    "The reference is the pretrained control, trained by this audit's budget: a candidate "
    "trained longer on the same data gains most on the items most like that data, which these "
    "flags cannot tell from memorisation; read them beside the overlap verdict and the items "
    "not found in the training data."
)


@dataclass(frozen=True)
class Flags:
    flagged: np.ndarray | None
    threshold: float | None
    null: str | None


def calibrate(probe: Probe, result: ProbeResult, fpr: float) -> Flags:
    """One probe's flags at target false-positive rate `fpr` (see the module docstring)."""
    scores = np.array([item.score for item in result.items], dtype=float)
    finite = np.isfinite(scores)
    if result.null is not None:
        both = finite & np.isfinite(result.null)
        if both.sum() < 2:
            return Flags(None, None, None)
        gap = float(np.median(scores[both] - result.null[both]))
        threshold = float(np.quantile(result.null[both] + gap, 1 - fpr, method="higher"))
        why = f"reference, gap {gap:+.3g}"
    elif getattr(probe, "subtracts_reference", False):
        if finite.sum() < 2:
            return Flags(None, None, None)
        middle = float(np.median(scores[finite]))
        spread = MAD_SCALE * float(np.median(np.abs(scores[finite] - middle)))
        if spread <= 0:  # half the items or more tie: no bulk to read a null's width from
            return Flags(None, None, None)
        threshold = middle + float(norm.ppf(1 - fpr)) * spread
        why = f"empirical: median {middle:+.3g}, spread {spread:.3g}"
    else:
        return Flags(None, None, None)
    return Flags(finite & (scores > threshold), threshold, why)


def auroc(scores: np.ndarray, positives: np.ndarray) -> float | None:
    """AUROC of `scores` for `positives` (finite scores only), or None without both classes."""
    from sklearn.metrics import roc_auc_score

    finite = np.isfinite(scores)
    labels = positives[finite]
    if labels.all() or not labels.any():
        return None
    return float(roc_auc_score(labels, scores[finite]))


def run_membership(
    model: LoadedModel,
    bench: Corpus,
    probes: Sequence[Probe],
    *,
    reference: LoadedModel | None = None,
    reference_how: str | None = None,
    task: str | None = None,
    fpr: float = DEFAULT_FPR,
    overlap_flags: np.ndarray | None = None,
) -> MembershipReport:
    """Fit every model probe on the benchmark, calibrate their flags, assemble the report.
    `overlap_flags` (the overlap verdict per item, with training data) adds each probe's AUROC
    against it and the list of items seen by the model but not found in the training data."""
    if not 0 < fpr < 1:
        raise InputError(f"--fpr {fpr:g}: the membership flags need a rate above 0 and below 1.")
    context = FitContext(model=model, reference=reference, task=task)
    check_requirements(probes, context, has_train=False)
    results = [probe.fit(bench, context).start_scan().finish() for probe in probes]
    flags = {r.probe: calibrate(p, r, fpr) for p, r in zip(probes, results, strict=True)}
    summaries = {}
    for probe, result in zip(probes, results, strict=True):
        mark = flags[result.probe]
        scores = np.array([item.score for item in result.items], dtype=float)
        count = None if mark.flagged is None else int(mark.flagged.sum())
        summaries[result.probe] = MembershipProbe(
            params=result.params, method=result.method,
            score=result.info.get("score", "see the probe's documentation"),
            threshold=mark.threshold, null=mark.null, flagged=count,
            fraction=None if count is None else count / max(len(scores), 1),
            auroc_vs_overlap=None if overlap_flags is None else auroc(scores, overlap_flags),
            unscored=result.info.get("unscored", 0), test=_test(probe, result),
        )  # fmt: skip
    chosen = _summary_probe([r.probe for r in results], flags)
    items = _items(bench, results, flags, chosen)
    count = None if flags[chosen].flagged is None else sum(item.flagged for item in items)
    not_in_training = None
    if overlap_flags is not None:
        not_in_training = [item.index for item in items if item.flagged and not overlap_flags[
            item.index]]  # fmt: skip
    note = _note(chosen, summaries, fpr, results)
    if reference is not None and reference_how == CONTROL:
        note += f" {CONTROL_CAVEAT}"
    return MembershipReport(
        model=model.name, reference=reference.name if reference else None,
        reference_how=reference_how if reference else None, bench=CorpusInfo(**bench.describe()),
        probes=summaries,
        summary=MembershipSummary(probe=chosen, flagged=count,
                                  fraction=None if count is None else count / max(len(items), 1),
                                  fpr_target=fpr, note=note),
        items=items, not_in_training=not_in_training,
    )  # fmt: skip


def _summary_probe(names: list[str], flags: dict[str, Flags]) -> str:
    ordered = [n for n in SUMMARY_ORDER if n in names]
    ordered += [n for n in names if n not in SUMMARY_ORDER]
    return next((n for n in ordered if flags[n].flagged is not None), ordered[0])


def _items(
    bench: Corpus, results: list[ProbeResult], flags: dict[str, Flags], chosen: str
) -> list[MembershipItem]:
    def finite(value: float) -> float | None:
        return float(value) if np.isfinite(value) else None

    def flagged(name: str, index: int) -> bool:
        marks = flags[name].flagged
        return bool(marks[index]) if marks is not None else False

    main = next(r for r in results if r.probe == chosen)
    shown = [i for i in range(len(bench)) if flagged(chosen, i)]
    texts = bench.texts_at(shown)
    items = []
    for index, row_id in enumerate(bench.ids):
        per_probe = {r.probe: MembershipItemProbe(score=finite(r.items[index].score),
                                                  flagged=flagged(r.probe, index))
                     for r in results}  # fmt: skip
        items.append(MembershipItem(
            index=index, id=row_id, score=finite(main.items[index].score),
            flagged=flagged(chosen, index),
            text=excerpt(texts[index]) if index in texts else None, probes=per_probe,
        ))  # fmt: skip
    return items


def _test(probe: Probe, result: ProbeResult) -> TestSummary | None:
    test = result.test
    if test is None:
        return None
    rejected = None if test.p_value is None else test.p_value < 0.01
    return TestSummary(
        params=result.params, method=result.method, statistic=test.statistic,
        statistic_label=probe.statistic_label, p_value=test.p_value,
        p_value_floor=test.p_value_floor, at_floor=test.at_floor, skipped=test.skipped,
        verdict=probe.explain(test, rejected), details=test.details,
    )  # fmt: skip


def _note(
    chosen: str, probes: dict[str, MembershipProbe], fpr: float, results: list[ProbeResult]
) -> str:
    unpaired = [r.probe for r in results if r.info.get("no_null")]
    if probes[chosen].threshold is None and unpaired:
        return (f"No item is flagged: {OTHER_TOKENS}. Run the reference probe, or pass a "
                "reference with this model's tokenizer.")  # fmt: skip
    if probes[chosen].threshold is None:
        return ("No reference model, so no item is flagged: the scores rank the items only. "
                f"{WEAK} Pass --reference MODEL (a model of the same family that did not see "
                "the benchmark) to flag items at a stated false-positive rate.")  # fmt: skip
    nulls = [NULLS["empirical" if probe.null.startswith("empirical") else "reference"]
             for probe in probes.values() if probe.null]  # fmt: skip
    methods = "; ".join(dict.fromkeys(nulls))
    note = (f"Items flagged by the {chosen} probe at a target false-positive rate of {fpr:g}. "
            f"Thresholds: {methods}.")  # fmt: skip
    if unpaired:
        note += f" Not flagging {', '.join(unpaired)}: {OTHER_TOKENS}."
    return note


def load_causal(model: str, device: str, on_progress=None, **load) -> LoadedModel:
    """A causal LM for the model probes (an encoder has no next-token probabilities)."""
    from auditor.embeddings import resolve_device
    from auditor.models import is_causal_lm, load_config, load_model, load_tokenizer

    trust = load.get("trust_remote_code", False)
    if not is_causal_lm(load_config(model, trust)):
        raise InputError(f"{model}: not a causal language model; the membership probes read a "
                         "decoder's next-token probabilities (GPT-2, Llama, Qwen...).")  # fmt: skip
    network = load_model(model, "causal", **load).to(resolve_device(device))
    tokenizer = load_tokenizer(model, trust_remote_code=trust)
    return LoadedModel(model, network, tokenizer, on_progress=on_progress)


def model_evidence(
    model: str,
    *,
    bench: Corpus,
    task: str | None,
    references: list[tuple[str, str]],
    device: str,
    fpr: float = DEFAULT_FPR,
    seed: int = 0,
    overlap_flags: np.ndarray | None = None,
    on_progress=None,
    **load,
) -> MembershipReport | None:
    """`audit run`'s membership part: every model probe on a causal-LM candidate (None for any
    other model), against the first of `references` ((model, where it came from)) if any."""
    from auditor.models import is_causal_lm, load_config
    from probes import PROBES, build_probes, probes_of_kind

    if not is_causal_lm(load_config(model, load.get("trust_remote_code", False))):
        return None
    candidate = load_causal(model, device, on_progress, **load)
    name, how = references[0] if references else (None, None)
    reference = load_causal(name, device, on_progress, **load) if name else None
    names = [n for n in probes_of_kind("model")
             if reference or "reference" not in PROBES.get(n).requires]  # fmt: skip
    probes = build_probes(names, shared={"seed": seed})
    return run_membership(candidate, bench, probes, reference=reference, reference_how=how,
                          task=task, fpr=fpr, overlap_flags=overlap_flags)  # fmt: skip
