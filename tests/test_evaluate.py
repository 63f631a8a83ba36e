"""Answer reading and multiple-choice scoring against independent computations."""

import json

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from typer.testing import CliRunner

from auditor.cli import app
from auditor.evaluate import continuation_logprobs
from auditor.loading import load_corpus
from auditor.tasks import TaskSpec, extract_answer, same_answer, task_of
from tests.models import tiny_gpt2


def test_gsm8k_answers_are_read_from_the_card() -> None:
    spec = task_of(load_corpus("gsm8k:test"))
    assert spec.numeric and spec.task == "generation"
    assert extract_answer("so 3 + 4 = 7\n#### 1,234", spec) == "1,234"
    assert extract_answer("The answer is 42 apples, not 41.", spec) == "41"  # last number
    assert same_answer("1,234", "1234", spec) and same_answer("7.0", "7", spec)
    assert not same_answer("7", "8", spec) and not same_answer(None, "8", spec)
    text = TaskSpec("generation")
    assert extract_answer("  Paris ", text) == "Paris"


def test_continuation_logprobs_match_a_direct_computation(tmp_path) -> None:
    base = tiny_gpt2(tmp_path / "gpt2")
    model = AutoModelForCausalLM.from_pretrained(base).eval()
    tokenizer = AutoTokenizer.from_pretrained(base)
    pairs = [("the cat sat on the", " mat"), ("two plus two is", " four or five")]
    ours = continuation_logprobs(model, tokenizer, pairs, batch_size=2)
    for (context, ending), value in zip(pairs, ours, strict=True):
        c = tokenizer(context, add_special_tokens=False)["input_ids"]
        e = tokenizer(ending, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            logits = model(torch.tensor([c + e])).logits[0].log_softmax(-1)
        expected = sum(float(logits[len(c) - 1 + i, token]) for i, token in enumerate(e))
        assert value == pytest.approx(expected, abs=1e-4)


def test_multiple_choice_eval_through_the_cli(tmp_path) -> None:
    base = tiny_gpt2(tmp_path / "gpt2")
    rows = [{"question": f"Question {i}?", "choices": ["red", "green", "blue"], "label": i % 3}
            for i in range(6)]  # fmt: skip
    bench = tmp_path / "mc.jsonl"
    bench.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = CliRunner().invoke(app, ["eval", "--model", str(base), "--bench", str(bench),
                                      "--format", "json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["task"] == "multiple_choice"
    assert 0.0 <= report["accuracy_norm"] <= 1.0
    assert [item["gold"] for item in report["items"]] == [0, 1, 2, 0, 1, 2]
    # the same model prefers the same colour whatever the question: accuracy is 2 of 6
    assert len({item["prediction"] for item in report["items"]}) == 1
    assert report["accuracy"] == pytest.approx(2 / 6)
