"""The rewrite rules, the skeleton and the windows: known answers on written examples."""

import re

import numpy as np
import pytest

from auditor.rewrites import REWRITES, change_names, change_numbers, reorder_sentences
from auditor.skeleton import names_are_incidental, names_in, skeleton
from probes.windows import LADDER, Windowing, auto_width

ITEM = (
    "Natalia sold clips to 48 of her friends in April. Then Tom sold 1,200 clips in May. "
    "She kept $2.50 for herself. How many clips did Natalia and Tom sell altogether?"
)


def test_numbers_are_redrawn_with_their_shape_and_nothing_else_changes():
    out = change_numbers(ITEM, seed=3)
    assert re.sub(r"\d", "#", out) == re.sub(r"\d", "#", ITEM)
    assert re.findall(r"[\d,.]+\d", out) != re.findall(r"[\d,.]+\d", ITEM)
    assert all(a != b for a, b in zip(re.findall(r"\d[\d,.]*", out),
                                      re.findall(r"\d[\d,.]*", ITEM), strict=True))  # fmt: skip


def test_names_are_replaced_consistently():
    assert names_in(ITEM) == ["Natalia", "Tom"]
    out = change_names(ITEM, seed=1)
    assert "Natalia" not in out and "Tom" not in out
    new = names_in(out)
    assert len(new) == 2 and out.count(new[0]) == 2 and out.count(new[1]) == 2
    assert "April" in out and "May" in out  # months are not names


def test_reorder_keeps_the_question_last_and_every_sentence():
    out = reorder_sentences(ITEM, seed=0)
    assert out != ITEM and out.endswith("How many clips did Natalia and Tom sell altogether?")
    assert sorted(out.replace("?", ".").split()) == sorted(ITEM.replace("?", ".").split())


@pytest.mark.parametrize("kind", list(REWRITES))
def test_rewrites_are_deterministic_per_seed_and_differ_across_seeds(kind):
    rewrite = REWRITES[kind]
    assert rewrite(ITEM, 5) == rewrite(ITEM, 5)
    assert rewrite(ITEM, 5) != ITEM
    if kind != "reorder":  # three sentences to shuffle: seeds may agree
        assert len({rewrite(ITEM, seed) for seed in range(5)}) > 1


def test_skeleton_replaces_number_runs_and_names():
    text = "Janet's ducks lay 16 eggs. She makes 9 * 2 = $<<9*2=18>>18 a day. Then Bob left."
    assert skeleton(text) == ("someone's ducks lay some number eggs. She makes some number a "
                              "day. Then someone left.")  # fmt: skip
    assert skeleton("what is the capital of peru ?") == "what is the capital of peru ?"
    assert skeleton(change_numbers(ITEM, 1)) == skeleton(change_names(ITEM, 2)) == skeleton(ITEM)


def test_names_are_replaced_only_where_they_are_incidental():
    text = "What is the population of Ohio ?"
    assert skeleton(text, names=False) == text
    assert skeleton(text) == "What is the population of someone ?"
    assert names_are_incidental("auto", [45, 30, 60]) and not names_are_incidental("auto", [9, 8])
    assert names_are_incidental("yes", [5]) and not names_are_incidental("no", [50])


def test_windows_cover_long_documents_within_the_cap():
    windowing = Windowing(width=16, max_windows=4)
    assert windowing.spans(24) == [(0, 24)]  # up to 1.5 widths: the document itself
    spans = windowing.spans(40)
    assert spans[0][0] == 0 and spans[-1][1] == 40 and all(b - a == 16 for a, b in spans)
    assert [a for a, _ in spans] == [0, 8, 16, 24]
    long = windowing.spans(1000)
    assert len(long) == 4 and long[-1] == (984, 1000)
    covered = np.zeros(1000, bool)
    for a, b in long:
        covered[a:b] = True
    assert not covered.all()  # the cap trades coverage for cost: windows are spread evenly
    windows, owner = Windowing(width=16).split(["short text", " ".join(["w"] * 40)])
    assert windows[0] == "short text" and owner.tolist() == [0, 1, 1, 1, 1]


def test_windows_follow_the_documents_lines():
    question, steps = " ".join(["q"] * 14), [" ".join([f"s{i}"] * 8) for i in range(3)]
    windows = Windowing(width=16).windows_of("\n".join([question, *steps]))
    assert windows == [question, f"{steps[0]} {steps[1]}", steps[2]]
    capped = Windowing(width=16, max_windows=2).windows_of("\n".join([question, *steps]))
    assert len(capped) == 2 and capped[0].split() == question.split() + ["s0"] * 2


def test_window_width_follows_the_benchmark_lengths():
    assert auto_width(np.array([5, 8, 10, 12])) == 16
    assert auto_width(np.array([30, 40, 45, 55, 60])) == 64
    assert auto_width(np.array([900])) == LADDER[-1]
    assert auto_width(np.array([], dtype=int)) == LADDER[0]
