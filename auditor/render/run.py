"""What a run report shows: the verdict, accuracies, attribution, controls, then the overlap,
shift and membership sections; without training data, the candidate's score and the membership
evidence alone."""

from auditor.render.membership import membership_sections
from auditor.render.sections import (
    TOP,
    Bar,
    Block,
    Figure,
    Paragraph,
    Section,
    Table,
    Verdict,
    converged,
    estimate,
    overlap_sections,
    shift_sections,
    trained_on,
)
from auditor.report import RunReport

MODELS = ("candidate", "scratch", "selfpretrained", "pretrained")
"""Every model a run report can score, in the order it lists them."""
CONTROL_NAMES = {
    "scratch": "scratch control",
    "selfpretrained": "self-pretrained control",
    "pretrained": "pretrained control",
}
SHARE_NAMES = {
    "fitting": "fitting",
    "transfer": "transfer",
    "training_text": "  of which training text",
    "external_transfer": "  of which external",
    "residual": "residual",
}
"""How the shares table labels each share (a report without a self-pretrained control has no
split of transfer)."""


def run_sections(report: RunReport, top: int = TOP) -> list[Section]:
    membership = membership_sections(report.membership, top) if report.membership else []
    if report.attribution is None:
        return [_without_training(report), *membership, _footer(report)]
    a, config = report.attribution, report.config
    head = Section(
        "",
        [
            Verdict(f"{config['model']} on {config['bench']}", a.verdict),
            Paragraph(
                f"Candidate: {report.candidate.how}. Chance accuracy {a.chance:.1%}; "
                f"{a.confidence:.0%} paired bootstrap intervals over {a.bootstrap} resamples."
            ),
        ],
    )
    names = {"candidate": f"candidate ({report.candidate.model})", **CONTROL_NAMES}
    models = [m for m in MODELS if m in a.accuracy]
    accuracy = Section(
        "Accuracy",
        [
            Table(
                header=["model", "all items", "clean items", "overlapping items"],
                rows=[
                    [names[m], *(estimate(part[m]) for part in (a.accuracy, a.clean, a.flagged))]
                    for m in models
                ],
            )
        ],
    )
    attribution = Section("Attribution")
    if a.shares is None:
        attribution.blocks.append(Paragraph(f"Shares undefined: {a.undefined}."))
    else:
        attribution.blocks += [
            Table(
                ["share", "value", ""],
                [
                    [SHARE_NAMES.get(k, k), estimate(v), Bar(v.value or 0.0)]
                    for k, v in a.shares.items()
                ],
                title="Where the accuracy above chance comes from",
            ),
            Figure(
                "shares",
                {k: v.model_dump() for k, v in a.shares.items()},
                f"Attribution: where the accuracy above chance comes from ({a.confidence:.0%} "
                "intervals)",
            ),
        ]
    quintiles = a.typicality_quintiles
    if quintiles["scratch"]:
        attribution.blocks += [
            Table(
                ["model", "1", "2", "3", "4", "5"],
                [[names[m], *(estimate(q, interval=False) for q in quintiles[m])] for m in models],
                title="Accuracy by typicality quintile (1 = least typical)",
            ),
            Figure(
                "quintiles",
                {"chance": a.chance, **{m: [q.value for q in quintiles[m]] for m in models}},
                "Accuracy by typicality quintile: distribution fitting shows as a scratch "
                "control that collapses on atypical items",
            ),
        ]
    controls = Section(
        "Controls",
        [
            Table(
                ["control", "accuracy", "learning rate", "trained on", "validated on", "converged"],
                [
                    [
                        init,
                        f"{c.accuracy:.1%}",
                        f"{c.learning_rate:g}",
                        trained_on(c.train_items, c.convergence),
                        f"{c.val_items:,}",
                        converged(c.convergence),
                    ]
                    for init, c in report.controls.items()
                ],
                left=frozenset({0, 5}),
            ),
            Paragraph(f"Budget {config['budget']}, {_seeds(config['seeds'])}{_selection(report)}."),
        ],
    )
    overlap = overlap_sections(report.overlap, top)
    overlap[0].blocks[1:1] = _similarity_figures(report)
    return [
        head,
        accuracy,
        attribution,
        controls,
        *overlap,
        *shift_sections(report.shift, top),
        *membership,
        _footer(report),
    ]


def _seeds(seeds: int) -> str:
    """The controls' seeds, and what the intervals carry because of them (`attribution`)."""
    if seeds == 1:
        return "1 seed (intervals over items only; --seeds 3 adds seed variance)"
    return f"{seeds} seeds (intervals over items and seeds)"


def _selection(report: RunReport) -> str:
    """How the controls chose their weights, as their convergence records say (reports written
    before schema 5 do not)."""
    rules = {c.convergence.get("selection") for c in report.controls.values()} - {None}
    return f"; each run {rules.pop()}" if len(rules) == 1 else ""


def _without_training(report: RunReport) -> Section:
    """The head of a run with no training data: the candidate's score, and what is missing."""
    config, candidate = report.config, report.candidate
    lines = [f"Accuracy {candidate.accuracy:.1%} (chance {report.task['chance']:.1%}).",
             f"No attribution: {report.no_training_data}"]  # fmt: skip
    return Section("", [Verdict(f"{config['model']} on {config['bench']}", lines),
                        Paragraph(f"Candidate: {candidate.how}.")])  # fmt: skip


def _footer(report: RunReport) -> Section:
    p = report.provenance
    return Section("", [Paragraph(
        f"audit {p['version']} ({p.get('git') or 'no git'}), {p['date']}, torch "
        f"{p.get('torch')}, transformers {p.get('transformers')}", small=True,
    )])  # fmt: skip


def _similarity_figures(report: RunReport) -> list[Block]:
    """Histogram of each item's graded similarity to the training data, and each model's
    accuracy by its quintile (the probe that provides "similarity")."""
    name = report.overlap.provides.get("similarity")
    if name is None or name not in report.overlap.probes:
        return []
    scores = [item.probes[name].score for item in report.overlap.items if name in item.probes]
    if not scores:
        return []
    correct = {
        "candidate": [float(i["correct"]) for i in report.candidate.items],
        **{k: [float(i["correct"]) for i in c.items] for k, c in report.controls.items()},
    }
    threshold = report.overlap.probes[name].threshold
    return [
        Figure(
            "histogram",
            {"scores": scores, "threshold": threshold, "probe": name},
            f"Similarity of each benchmark item to its nearest training item ({name})",
        ),
        Figure(
            "strata",
            {"scores": scores, "correct": correct},
            f"Accuracy by similarity to the training data ({name})",
        ),
    ]
