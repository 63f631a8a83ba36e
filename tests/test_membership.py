"""Model probes on models whose training data the test knows exactly.

Three tiny GPT-2s are trained here from scratch on real GSM8K questions: `dirty` also sees half
of a 100-item benchmark slice (3 copies each), `clean` and `clean2` (two seeds) see other
training questions in their place, the same number of steps; four more clean models (other seeds)
make two more null pairs for the null-rate test. The seen half is drawn at random, so nothing but
training separates it from the unseen half. All share MiniLM's tokenizer cut to the pieces these
texts use (`tests.models.compact_tokenizer`: the same splits, a tenth of the output layer).
"""

import json
import random
from pathlib import Path

import datasets
import numpy as np
import pytest

from auditor.corpus import Corpus
from auditor.membership import auroc, load_causal, run_membership
from probes import build_probes
from probes.base import FitContext
from probes.membership import token_stats
from probes.rewrite import RewriteProbe
from tests.models import compact_tokenizer, train_causal_lm

GSM8K = Path(__file__).resolve().parents[1] / "datasets_meta" / "data" / "gsm8k"
ITEMS = 100
REFERENCE_FREE = ("loss", "zlib", "mink", "minkpp")
ALL = (*REFERENCE_FREE, "reference", "rewrite")
NULL_PAIRS = 3
"""Pairs of clean models (audited, reference) whose flags pool into the null-rate test."""


def _questions(split: str) -> list[str]:
    with open(GSM8K / f"{split}.jsonl") as lines:
        return [json.loads(line)["question"] for line in lines]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    train, test = _questions("train"), _questions("test")
    bench = test[:ITEMS]
    seen = sorted(random.Random(7).sample(range(ITEMS), ITEMS // 2))
    base, filler = train[:150], train[150 : 150 + len(seen)]
    folder = tmp_path_factory.mktemp("membership")
    tokenizer = compact_tokenizer(base + filler + bench)
    models = {
        "dirty": train_causal_lm(folder / "dirty", base + [bench[i] for i in seen] * 3, seed=0,
                                 epochs=5, tokenizer=tokenizer),
        "clean": train_causal_lm(folder / "clean", base + filler * 3, seed=0, epochs=5,
                                 tokenizer=tokenizer),
        "clean2": train_causal_lm(folder / "clean2", base + filler * 3, seed=1, epochs=5,
                                  tokenizer=tokenizer),
    }  # fmt: skip
    for seed in range(2, 2 + 2 * (NULL_PAIRS - 1)):  # more clean models: the null's other pairs
        models[f"clean{seed + 1}"] = train_causal_lm(
            folder / f"clean{seed + 1}", base + filler * 3, seed=seed, epochs=5,
            tokenizer=tokenizer,
        )  # fmt: skip
    rows = {"id": [f"gsm8k-test-{i}" for i in range(ITEMS)], "text": bench}
    corpus = Corpus(datasets.Dataset.from_dict(rows), source="gsm8k-slice")
    truth = np.zeros(ITEMS, dtype=bool)
    truth[seen] = True
    loaded = {name: load_causal(str(path), "cpu") for name, path in models.items()}
    return {"bench": corpus, "truth": truth, "models": models, "loaded": loaded}


def _report(world, candidate: str, reference: str | None, fpr: float = 0.05):
    loaded = world["loaded"]
    names = ALL if reference else (*REFERENCE_FREE, "rewrite")
    return run_membership(loaded[candidate], world["bench"], build_probes(list(names)),
                          reference=loaded[reference] if reference else None,
                          task="generation", fpr=fpr)  # fmt: skip


@pytest.fixture(scope="module")
def contaminated(world):
    return _report(world, "dirty", "clean")


@pytest.fixture(scope="module")
def null(world):
    return _report(world, "clean2", "clean")


@pytest.fixture(scope="module")
def nulls(world, null) -> list:
    """The null pair and the others: clean models of other seeds, calibrated on each other."""
    pairs = [(f"clean{2 * k + 2}", f"clean{2 * k + 1}") for k in range(1, NULL_PAIRS)]
    return [null, *(_report(world, audited, reference) for audited, reference in pairs)]


def _scores(report, name: str) -> np.ndarray:
    return np.array([np.nan if i.probes[name].score is None else i.probes[name].score
                     for i in report.items])  # fmt: skip


def test_seen_items_rank_above_unseen(world, contaminated) -> None:
    truth = world["truth"]
    assert auroc(_scores(contaminated, "reference"), truth) >= 0.9
    assert max(auroc(_scores(contaminated, name), truth) for name in REFERENCE_FREE) >= 0.75


def test_a_model_that_never_saw_the_items_invents_no_signal(world, null) -> None:
    for name in ALL:
        assert 0.35 <= auroc(_scores(null, name), world["truth"]) <= 0.65, name


def test_flags_on_the_null_models_stay_near_the_target_rate(nulls, contaminated, world) -> None:
    """Pooled over three pairs of clean models (300 decisions a probe), each probe flags at most
    twice its 5% target. One pair's 100 items leave too much to chance: the threshold is read
    from 100 reference scores too, and over ten draws of one pair's models a probe reached 11%
    once (12% once in four with MiniLM's full vocabulary)."""
    for name in nulls[0].probes:
        assert all(report.probes[name].flagged is not None for report in nulls), name
        flagged = sum(report.probes[name].flagged for report in nulls)
        assert flagged <= 2 * 0.05 * ITEMS * NULL_PAIRS, (name, flagged)
    # the same rule flags seen items of the contaminated model and few unseen ones
    flagged = np.array([item.flagged for item in contaminated.items])
    truth = world["truth"]
    assert contaminated.summary.probe == "mink"
    assert flagged[truth].sum() >= 0.3 * truth.sum()
    assert flagged[~truth].sum() <= 0.1 * (~truth).sum()


def test_rewrite_test_separates_memorising_from_clean(world, contaminated, null) -> None:
    assert contaminated.probes["rewrite"].test.p_value < 0.01
    assert null.probes["rewrite"].test.p_value > 0.01
    swapped = _report(world, "clean", "clean2")
    assert swapped.probes["rewrite"].test.p_value > 0.01


def test_without_a_reference_nothing_is_flagged_and_the_report_says_why(world) -> None:
    report = _report(world, "dirty", None)
    assert report.summary.flagged is None and report.summary.fraction is None
    assert not any(item.flagged for item in report.items)
    assert "weak on in-distribution data" in report.summary.note
    assert report.probes["rewrite"].test.skipped


@pytest.mark.parametrize("shape", ["normal", "laplace", "t3"])
def test_rewrite_tail_test_false_positive_rate(shape: str) -> None:
    """The tail test on extra drops with no memorised subset (any shift, symmetric noise)
    rejects at about its level."""
    rng = np.random.default_rng(0)
    probe = RewriteProbe(permutations=199)
    draw = {"normal": rng.normal, "laplace": rng.laplace,
            "t3": lambda size: rng.standard_t(3, size)}[shape]  # fmt: skip
    rejected = 0
    for trial in range(300):
        reference = rng.uniform(0.1, 0.4, 80)
        model = reference + 0.05 * (trial % 3) + 0.05 * draw(size=80)
        rejected += probe.paired_test(model, reference)["p_value"] <= 0.05
    assert rejected / 300 <= 0.08


def test_minkpp_matches_a_direct_per_token_computation(world) -> None:
    import torch

    model = world["loaded"]["dirty"]
    text = world["bench"].texts[3]
    (stats,) = token_stats(model, [text])
    ids = model.tokenizer(text, return_tensors="pt")["input_ids"][0]
    expected = []
    with torch.inference_mode():
        for t in range(1, len(ids)):
            logits = model.network(input_ids=ids[None, :t]).logits[0, -1].double()
            logp = torch.log_softmax(logits, -1)
            mu = float((logp.exp() * logp).sum())
            sigma = float(((logp.exp() * logp**2).sum() - mu**2) ** 0.5)
            expected.append((float(logp[ids[t]]) - mu) / sigma)
    lowest = sorted(expected)[: int(np.ceil(0.2 * len(expected)))]
    probe = build_probes(["minkpp"])[0]
    assert probe.item_score(stats) == pytest.approx(np.mean(lowest), abs=1e-3)
    assert len(stats.logp) == len(ids) - 1


def test_padding_does_not_change_scores(world) -> None:
    model = world["loaded"]["clean"]
    texts = world["bench"].texts[:6]
    probe = build_probes(["loss"])[0]
    alone = [probe.item_score(token_stats(model, [t], batch_size=1)[0]) for t in texts]
    batched = [probe.item_score(s) for s in token_stats(model, texts, max_length=255)]
    np.testing.assert_allclose(alone, batched, atol=1e-4)


def test_texts_longer_than_the_model_reads_are_cut_at_its_context(world) -> None:
    model = world["loaded"]["clean"]  # 128 positions
    (stats,) = token_stats(model, [" ".join(world["bench"].texts[:10])], max_length=256)
    assert len(stats.logp) == 127


def test_rewrite_twins_follow_the_task() -> None:
    rows = {"id": ["a"], "text": ["Which is a fruit?"], "choices": [["apple", "car", "rock"]],
            "label": ["0"]}  # fmt: skip
    bench = Corpus(datasets.Dataset.from_dict(rows), source="mc")
    twins = RewriteProbe(twins=2)._twins(
        bench, FitContext(task="multiple_choice"), ["Which is a fruit?\nA. apple\nB. car\nC. rock"]
    )
    assert twins[0]
    for twin in twins[0]:
        question, *lines = twin.split("\n")
        choices = [line[3:] for line in lines]
        assert question == "Which is a fruit?" and [line[:3] for line in lines] == [
            "A. ",
            "B. ",
            "C. ",
        ]
        assert sorted(choices) == ["apple", "car", "rock"] != choices


def test_membership_command_json_contract(world, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from auditor.cli import app

    bench = tmp_path / "slice.jsonl"
    questions = world["bench"].texts
    bench.write_text("".join(json.dumps({"question": q + " <b>x</b>", "answer": "#### 1"}) + "\n"
                             for q in questions))  # fmt: skip
    models = world["models"]
    page = tmp_path / "membership.html"
    result = CliRunner().invoke(app, ["membership", "--model", str(models["dirty"]), "--bench",
                                      str(bench), "--reference", str(models["clean"]), "-p",
                                      "minkpp", "-p", "reference", "--fpr", "0.05", "--format",
                                      "json", "--out", str(page), "--quiet"])  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["report"] == "membership" and report["reference"] == str(models["clean"])
    assert set(report["probes"]) == {"minkpp", "reference"}
    assert set(report["summary"]) >= {"flagged", "fraction", "fpr_target"}
    assert report["summary"]["fpr_target"] == 0.05 and report["summary"]["probe"] == "minkpp"
    # (mink, the default summary probe, is not among the two asked for)
    assert [item["index"] for item in report["items"]] == list(range(ITEMS))
    item = report["items"][0]
    assert set(item) >= {"index", "id", "score", "flagged", "probes"}
    assert item["score"] == item["probes"]["minkpp"]["score"]
    assert report["summary"]["flagged"] == sum(i["flagged"] for i in report["items"]) > 0
    html = page.read_text()
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    encoder = CliRunner().invoke(app, ["membership", "--model", "minilm", "--bench", str(bench)])
    assert encoder.exit_code == 2 and "not a causal language model" in encoder.output


def test_a_null_with_no_spread_flags_nothing() -> None:
    from auditor.membership import calibrate
    from probes.base import ItemScore, ProbeResult
    from probes.reference import ReferenceProbe

    probe = ReferenceProbe()
    scores = [0.0] * 8 + [0.5, 0.9]
    result = ProbeResult("reference", "model", {}, [ItemScore(v, False) for v in scores])
    assert calibrate(probe, result, 0.05).flagged is None
    spread = [0.01 * i for i in range(40)] + [5.0]
    result = ProbeResult("reference", "model", {}, [ItemScore(v, False) for v in spread])
    assert calibrate(probe, result, 0.05).flagged.tolist() == [False] * 40 + [True]


def test_a_reference_with_other_tokens_is_no_per_token_null(world, tmp_path: Path) -> None:
    """Per-token scores of two tokenizers do not compare: only the per-byte reference probe
    flags, the others say why they do not, and the rewrite test is skipped."""
    from transformers import BertTokenizer

    from probes.base import LoadedModel

    clean = world["loaded"]["clean"]
    cased = BertTokenizer(vocab=clean.tokenizer.get_vocab(), do_lower_case=False)
    cased.eos_token = "[SEP]"
    other = LoadedModel("other", clean.network, cased)
    report = run_membership(world["loaded"]["dirty"], world["bench"], build_probes(list(ALL)),
                            reference=other, task="generation", fpr=0.05)  # fmt: skip
    assert report.summary.probe == "reference" and report.summary.flagged is not None
    for name in (*REFERENCE_FREE, "rewrite"):
        assert report.probes[name].flagged is None, name
    assert report.probes["rewrite"].test.skipped and "other tokens" in report.summary.note


def test_membership_with_declared_training_data_compares_with_the_overlap_verdict(
    world, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from auditor.cli import app

    questions = world["bench"].texts
    bench = tmp_path / "bench.jsonl"
    bench.write_text("".join(json.dumps({"question": q, "answer": "#### 1"}) + "\n"
                             for q in questions))  # fmt: skip
    train = tmp_path / "train.jsonl"
    declared = _questions("train")[:30] + questions[:10]  # 10 items leaked verbatim
    train.write_text("".join(json.dumps({"text": t}) + "\n" for t in declared))
    models = world["models"]
    result = CliRunner().invoke(app, ["membership", "--model", str(models["dirty"]), "--bench",
                                      str(bench), "--reference", str(models["clean"]), "--train",
                                      str(train), "-p", "mink", "-p", "reference", "--format",
                                      "json", "-q"])  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert all(p["auroc_vs_overlap"] is not None for p in report["probes"].values())
    flagged = {item["index"] for item in report["items"] if item["flagged"]}
    assert set(report["not_in_training"]) == flagged - set(range(10))


def test_a_plugin_model_probe_runs_beside_the_built_ins(tmp_path: Path) -> None:
    """A third-party probe of kind `model` (the example plugin) needs no membership-specific
    info to appear in the report."""
    from tests.models import tiny_gpt2
    from tests.plugins.likelihood_probe import LikelihoodProbe

    model = load_causal(str(tiny_gpt2(tmp_path / "gpt2")), "cpu")
    rows = {"id": ["a", "b"], "text": ["hello there world", "one two three four"]}
    bench = Corpus(datasets.Dataset.from_dict(rows), source="tiny")
    report = run_membership(model, bench, [LikelihoodProbe(), *build_probes(["loss"])])
    assert set(report.probes) == {"likelihood", "loss"} and report.summary.probe == "loss"
    assert report.probes["likelihood"].score == "geometric mean token probability"
