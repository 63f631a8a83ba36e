"""One conformance suite over every registered probe (scikit-learn's test_common, for probes)."""

import numpy as np
import pytest

from probes import PROBES
from probes.base import NotFittedError, Probe
from tests.helpers import corpus

BENCH = corpus([
    "How many apples does Tom have if he buys 3 bags of 4 apples each?",
    "What is the capital city of France?",
    "the quick brown fox jumps over the lazy dog near the river bank",
    "Translate the sentence into German please.",
    "!!!",
])  # fmt: skip
TRAIN = corpus([
    "Tom buys 3 bags of 4 apples each. How many apples does Tom have if he buys 3 bags of 4 "
    "apples each? He has 12.",
    "the quick brown fox jumps over the lazy dog near the river bank",
    "Paris is a city.",
    "An unrelated sentence about sailing boats.",
])  # fmt: skip


@pytest.fixture(params=PROBES.names())
def probe_class(request) -> type[Probe]:
    return PROBES.get(request.param)


def test_default_constructible_and_params_round_trip(probe_class: type[Probe]) -> None:
    probe = probe_class()
    params = probe.get_params()
    assert type(probe)(**params).get_params() == params
    assert probe.name in PROBES.names() and probe.kind in ("overlap", "shift", "model")
    assert probe.requires


def test_init_stores_only(probe_class: type[Probe]) -> None:
    probe = probe_class()
    assert not [name for name in vars(probe) if name.endswith("_")]


def test_scan_before_fit_raises(probe_class: type[Probe]) -> None:
    with pytest.raises(NotFittedError):
        probe_class().start_scan()


def test_fit_returns_self_and_scores_are_valid(probe_class: type[Probe]) -> None:
    probe = probe_class()
    assert probe.fit(BENCH) is probe
    result = probe.score(TRAIN)
    assert result.probe == probe.name
    assert result.params == probe.get_params()
    assert all(0.0 <= item.score <= 1.0 for item in result.items)
    if probe.kind == "shift":
        assert len(result.items) in (0, len(BENCH))
        assert isinstance(result.test, dict)
        return
    assert len(result.items) == len(BENCH)
    for item in result.items:
        if item.flagged:
            assert item.match is not None
            assert TRAIN.ids[item.match.train_index] == item.match.train_id
    assert result.items[2].flagged  # an exact copy is flagged by every overlap probe
    assert not result.items[4].flagged  # no words at all
    if "tokens" in probe.requires:
        assert result.items[4].score == 0.0


def test_same_seed_same_result_and_score_leaves_probe_unchanged(probe_class) -> None:
    first = probe_class().fit(BENCH)
    a = first.score(TRAIN)
    b = first.score(TRAIN)
    c = probe_class().fit(BENCH).score(TRAIN)
    assert a == b == c


def test_batching_does_not_change_the_result(probe_class: type[Probe]) -> None:
    probe = probe_class().fit(BENCH)
    whole = probe.score(TRAIN, batch_size=1000)
    pieces = probe.score(TRAIN, batch_size=1)
    assert [i.flagged for i in whole.items] == [i.flagged for i in pieces.items]
    # bfloat16 encoders see different padding in different batches: allow its rounding.
    tolerance = 2e-3 if "embeddings" in probe.requires else 1e-9
    np.testing.assert_allclose(
        [i.score for i in whole.items], [i.score for i in pieces.items], atol=tolerance
    )
    assert [i.match for i in whole.items] == [i.match for i in pieces.items]
    if whole.test is not None:
        assert whole.test.keys() == pieces.test.keys()
        for key, value in whole.test.items():
            if isinstance(value, float):
                assert value == pytest.approx(pieces.test[key], rel=0.05, abs=tolerance)
            else:
                assert value == pieces.test[key]


def test_registry_rejects_duplicates_and_suggests() -> None:
    from auditor.errors import InputError
    from probes.registry import Registry

    registry: Registry = Registry("probe")
    registry.register("exact", "probes.exact:ExactProbe")
    with pytest.raises(ValueError, match="registered twice"):
        registry.register("exact", "probes.ngram:NgramProbe")
    with pytest.raises(InputError, match="Did you mean 'exact'"):
        registry.get("exakt")
