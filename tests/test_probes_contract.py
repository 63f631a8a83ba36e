"""One conformance suite over every probe (scikit-learn's common checks, for probes).

It runs over every registered probe and the two example plugins in `tests/plugins` (one of kind
`model`); each probe gets the fixtures its `requires` asks for (labelled corpora for "labels", a
tiny causal LM for "model").
"""

import dataclasses
import inspect
import json

import datasets
import numpy as np
import pytest

from auditor.corpus import Corpus
from auditor.errors import InputError
from auditor.scan import run_probes
from probes import PROBES
from probes.base import FitContext, LoadedModel, NotFittedError, Probe
from probes.batch import ProbeContractError
from tests.plugins.likelihood_probe import LikelihoodProbe
from tests.plugins.prefix_probe import PrefixProbe

BENCH_TEXTS = [
    "How many apples does Tom have if he buys 3 bags of 4 apples each?",
    "What is the capital city of France?",
    "the quick brown fox jumps over the lazy dog near the river bank",
    "Translate the sentence into German please.",
    "!!!",
]
TRAIN_TEXTS = [
    "Tom buys 3 bags of 4 apples each. How many apples does Tom have if he buys 3 bags of 4 "
    "apples each? He has 12.",
    "the quick brown fox jumps over the lazy dog near the river bank",
    "Paris is a city.",
    "An unrelated sentence about sailing boats.",
]


def labelled(texts: list[str], source: str, labels: list[str]) -> Corpus:
    ids = [f"{source}:{i}" for i in range(len(texts))]
    rows = {"id": ids, "text": list(texts), "label": labels}
    return Corpus(datasets.Dataset.from_dict(rows), source=source)


BENCH = labelled(BENCH_TEXTS, "bench", ["q", "q", "s", "s", "s"])
TRAIN = labelled(TRAIN_TEXTS, "train", ["q", "s", "s", "s"])
CLASSES = [PROBES.get(name) for name in PROBES.names()] + [PrefixProbe, LikelihoodProbe]
QUICK = {"c2st": {"n_permutations": 20}}
"""Settings that keep a slow default (c2st refits its classifier per permutation) quick here."""


def make(probe_class: type[Probe]) -> Probe:
    return probe_class(**QUICK.get(probe_class.name, {}))


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory) -> LoadedModel:
    from auditor.models import load_model, load_tokenizer
    from tests.models import tiny_gpt2

    folder = tiny_gpt2(tmp_path_factory.mktemp("lm"))
    return LoadedModel(str(folder), load_model(str(folder), "causal"), load_tokenizer(str(folder)))


@pytest.fixture(params=CLASSES, ids=lambda cls: cls.name)
def probe_class(request) -> type[Probe]:
    return request.param


@pytest.fixture(scope="module")
def encoder():
    from auditor.embeddings import Encoder

    return Encoder("minilm")


@pytest.fixture
def context(probe_class, request) -> FitContext:
    """What the probe's `requires` asks for beyond the benchmark: the shared sentence encoder
    for "embeddings", a tiny causal LM for "model"."""
    needs = probe_class.requires
    return FitContext(
        encoder=request.getfixturevalue("encoder") if "embeddings" in needs else None,
        model=request.getfixturevalue("tiny_lm") if "model" in needs else None,
        reference=request.getfixturevalue("tiny_lm") if "reference" in needs else None,
    )


def test_declares_what_it_is(probe_class: type[Probe]) -> None:
    assert probe_class.kind in ("overlap", "shift", "model")
    assert probe_class.requires and probe_class.requires <= {
        "text", "tokens", "skeleton", "embeddings", "labels", "model", "reference"
    }  # fmt: skip
    assert probe_class.provides <= {"verbatim", "similarity", "in_distribution", "drift"}


def test_init_stores_its_parameters_unchanged(probe_class: type[Probe]) -> None:
    defaults = {name: p.default for name, p in inspect.signature(probe_class).parameters.items()}
    probe = probe_class()
    assert probe.get_params() == defaults
    assert type(probe)(**probe.get_params()).get_params() == defaults
    assert not [name for name in vars(probe) if name.endswith("_")]


def test_scan_before_fit_raises(probe_class: type[Probe]) -> None:
    with pytest.raises(NotFittedError):
        probe_class().start_scan()


def test_fit_returns_self_and_leaves_parameters_alone(probe_class, context) -> None:
    probe = make(probe_class)
    before = probe.get_params()
    assert probe.fit(BENCH, context) is probe
    probe.score(TRAIN)
    assert probe.get_params() == before


def test_result_envelope(probe_class: type[Probe], context: FitContext) -> None:
    probe = make(probe_class).fit(BENCH, context)
    result = probe.score(TRAIN)
    assert (result.probe, result.kind) == (probe.name, probe.kind)
    assert result.params == probe.get_params()
    assert result.method == probe.describe(result.info)
    json.dumps(dataclasses.asdict(result))  # JSON-serialisable as it is
    if probe.kind == "model":  # a log-likelihood statistic; NaN only for an unscorable item
        assert all(np.isfinite(i.score) or np.isnan(i.score) for i in result.items)
    else:
        assert all(0.0 <= item.score <= 1.0 for item in result.items)
    if probe.kind == "shift":
        assert len(result.items) in (0, len(BENCH))
        test = result.test
        assert test is not None, "a shift probe reports a set-level test"
        assert test.p_value is not None or test.skipped or test.why_no_p_value
        assert isinstance(probe.explain(test, True), str) and probe.explain(test, None)
        return
    assert len(result.items) == len(BENCH)
    for item in result.items:
        if item.flagged:
            assert item.match is not None
            assert TRAIN.ids[item.match.train_index] == item.match.train_id
    if probe.kind == "overlap":
        assert result.items[2].flagged  # an exact copy is flagged by every overlap probe
        assert not result.items[4].flagged  # no words at all
    if "tokens" in probe.requires:
        assert result.items[4].score == 0.0


def test_same_seed_same_result_and_score_leaves_probe_unchanged(probe_class, context) -> None:
    first = make(probe_class).fit(BENCH, context)
    a = first.score(TRAIN)
    b = first.score(TRAIN)
    c = make(probe_class).fit(BENCH, context).score(TRAIN)
    assert repr(a) == repr(b) == repr(c)  # repr: NaN (an unscored item) equals itself


def _same(a, b, tolerance: float) -> None:
    assert [i.flagged for i in a.items] == [i.flagged for i in b.items]
    np.testing.assert_allclose(
        [i.score for i in a.items], [i.score for i in b.items], atol=tolerance
    )
    if a.test is not None:
        assert (a.test.statistic is None) == (b.test.statistic is None)
        if a.test.statistic is not None:
            assert a.test.statistic == pytest.approx(b.test.statistic, rel=0.05, abs=tolerance)


def test_batching_does_not_change_the_result(probe_class, context) -> None:
    probe = make(probe_class).fit(BENCH, context)
    whole = probe.score(TRAIN, batch_size=1000)
    pieces = probe.score(TRAIN, batch_size=1)
    # bfloat16 encoders see different padding in different batches: allow its rounding.
    tolerance = 2e-3 if "embeddings" in probe.requires else 1e-9
    _same(whole, pieces, tolerance)
    assert [i.match for i in whole.items] == [i.match for i in pieces.items]


def test_order_of_the_training_corpus_does_not_change_scores(probe_class, context) -> None:
    reversed_train = labelled(TRAIN_TEXTS[::-1], "train", ["s", "s", "s", "q"])
    probe = make(probe_class).fit(BENCH, context)
    tolerance = 2e-3 if "embeddings" in probe.requires else 1e-9
    _same(probe.score(TRAIN), probe.score(reversed_train), tolerance)


def test_a_scan_reading_an_undeclared_feature_fails() -> None:
    class Sneaky(PrefixProbe):
        name = "sneaky"

        def start_scan(self):
            scan = super().start_scan()
            scan.absorb = lambda batch, prepared: batch.tokens  # "tokens" is not declared
            return scan

    with pytest.raises(ProbeContractError, match="tokens"):
        run_probes(TRAIN, BENCH, [Sneaky()])


def test_requirements_are_checked_before_any_work() -> None:
    with pytest.raises(InputError, match="--model"):
        run_probes(TRAIN, BENCH, [LikelihoodProbe()])
    with pytest.raises(InputError, match="--train"):
        run_probes(None, BENCH, [PrefixProbe()])


def test_a_model_probe_runs_without_training_data(tiny_lm) -> None:
    (result,) = run_probes(None, BENCH, [LikelihoodProbe()], context=FitContext(model=tiny_lm))
    assert len(result.items) == len(BENCH) and result.kind == "model"
    assert all(0.0 < item.score < 1.0 for item in result.items[:4])


def test_registry_rejects_duplicates_and_suggests() -> None:
    from probes.registry import Registry

    registry: Registry = Registry("probe")
    registry.register("exact", "probes.exact:ExactProbe")
    with pytest.raises(ValueError, match="registered twice"):
        registry.register("exact", "probes.ngram:NgramProbe")
    with pytest.raises(InputError, match="Did you mean 'exact'"):
        registry.get("exakt")
