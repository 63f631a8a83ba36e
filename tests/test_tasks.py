"""One conformance suite over every registered task type, on tiny models (tests/models.py)."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from auditor.corpus import Corpus
from auditor.errors import InputError
from auditor.evaluate import EvalResult
from auditor.loading import load_corpus
from auditor.models import build_from_config, load_tokenizer
from auditor.tasks import TASKS, TaskSpec, task_of
from auditor.tasks.base import Task
from tests.models import tiny_bert, tiny_gpt2

ROWS = {
    "classification": [
        {"text": f"item {i} is about {topic}", "label": topic}
        for i, topic in enumerate(["NUM", "LOC", "HUM", "NUM", "LOC", "HUM"])
    ],
    "generation": [
        {"question": f"What is {i} plus {i}?", "answer": f"#### {2 * i}"} for i in range(6)
    ],
    "multiple_choice": [
        {"question": f"Pick colour {i}.", "choices": ["red", "green", "blue"], "label": i % 3}
        for i in range(6)
    ],
}


def write(path: Path, rows: list[dict]) -> Corpus:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return load_corpus(str(path))


@pytest.fixture(scope="module")
def bases(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("task-bases")
    return {"classification": tiny_bert(folder / "bert"), "causal": tiny_gpt2(folder / "gpt2")}


@pytest.fixture(params=sorted(ROWS))
def case(request, tmp_path, bases) -> tuple[Task, Corpus, TaskSpec, Path]:
    corpus = write(tmp_path / f"{request.param}.jsonl", ROWS[request.param])
    spec = task_of(corpus)
    task = TASKS.get(spec.task)
    return task, corpus, spec, bases[task.head]


def test_every_card_task_type_is_registered() -> None:
    assert TASKS.names() == sorted(ROWS)


def test_an_unknown_task_is_an_input_error_with_a_suggestion() -> None:
    with pytest.raises(InputError, match="Did you mean 'classification'"):
        TASKS.get("clasification")


def test_listing_tasks_imports_no_torch() -> None:
    code = (
        "import sys\nfrom auditor.tasks import TASKS, task_of\n"
        "assert TASKS.names()\nprint(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_task_contract(case) -> None:
    task, corpus, spec, base = case
    assert task.name == spec.task
    assert task.head in ("classification", "causal")
    assert task.val_metric in ("accuracy", "-loss")
    tokenizer = load_tokenizer(str(base))
    model = build_from_config(str(base), task.head, 0, **task.head_overrides(spec))
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    assert task.fits(model, spec)

    examples = task.examples(corpus, spec, tokenizer, max_length=24)
    assert len(examples) == len(corpus)
    assert all(0 < len(example["input_ids"]) <= 24 for example in examples)
    batch = task.collate(examples[:4], tokenizer.pad_token_id)
    assert batch["input_ids"].shape == batch["attention_mask"].shape
    assert len(batch["labels"]) == 4
    with torch.no_grad():
        assert math.isfinite(float(model(**batch).loss))

    score = task.validate(model, examples, batch_size=4, pad_id=tokenizer.pad_token_id)
    if task.val_metric == "accuracy":
        assert 0.0 <= score <= 1.0
    else:  # -loss: the weighted mean of the batches' losses, negated
        assert score < 0.0

    result = task.evaluate(model, tokenizer, corpus, spec, batch_size=4, max_new_tokens=3)
    assert isinstance(result, EvalResult) and result.task == task.name
    assert [item["index"] for item in result.items] == list(range(len(corpus)))
    assert result.accuracy == pytest.approx(sum(i["correct"] for i in result.items) / len(corpus))


def classifier(base: Path, names: list[str]):
    overrides = TASKS.get("classification").head_overrides(TaskSpec("classification", names))
    return build_from_config(str(base), "classification", 0, **overrides)


def test_a_classifier_with_other_labels_does_not_fit(bases) -> None:
    task = TASKS.get("classification")
    spec = TaskSpec("classification", label_names=["HUM", "LOC", "NUM"])
    assert not task.fits(classifier(bases["classification"], ["neg", "pos"]), spec)
    assert not task.fits(classifier(bases["classification"], ["HUM", "LOC"]), spec)
    # label names match case-insensitively, and extra model labels do no harm
    assert task.fits(classifier(bases["classification"], ["hum", "loc", "num", "x"]), spec)


def test_classification_refuses_training_labels_the_benchmark_lacks(tmp_path) -> None:
    train = write(tmp_path / "train.jsonl", [{"text": "a", "label": "ODD"}])
    spec = TaskSpec("classification", label_names=["HUM", "LOC"])
    with pytest.raises(InputError, match="ODD"):
        TASKS.get("classification").check_train(train, spec)


@pytest.mark.parametrize("name", ["generation", "multiple_choice"])
def test_causal_tasks_need_answers_to_train_on(tmp_path, name) -> None:
    train = write(tmp_path / "train.jsonl", [{"text": "no answer here", "label": "x"}])
    with pytest.raises(InputError, match="needs answers"):
        TASKS.get(name).check_train(train, TaskSpec(name))


def test_causal_examples_learn_only_the_answer(tmp_path, bases) -> None:
    corpus = write(tmp_path / "mc.jsonl", ROWS["multiple_choice"][:2])
    tokenizer = load_tokenizer(str(bases["causal"]))
    task = TASKS.get("multiple_choice")
    (first, _) = task.examples(corpus, task_of(corpus), tokenizer, max_length=64)
    pairs = zip(first["input_ids"], first["labels"], strict=True)
    learned = [token for token, label in pairs if label >= 0]
    assert tokenizer.decode(learned, skip_special_tokens=True).strip() == "red"  # gold choice 0
    batch = task.collate([first], tokenizer.pad_token_id)
    assert torch.equal(batch["labels"][0], torch.tensor(first["labels"]))


def test_a_file_of_worked_solutions_is_scored_on_the_final_answer(tmp_path) -> None:
    """GSM8K rows in a local file: the gold answer is the number after "####", as the card reads
    it, not the whole worked solution (which no generated output could equal)."""
    import json

    from auditor.loading import load_corpus
    from auditor.tasks import extract_answer, same_answer, task_of

    gsm = load_corpus("gsm8k:test")
    rows = [{"question": q, "answer": a} for q, a in zip(gsm.texts[:5], gsm.column("answer")[:5],
                                                           strict=True)]  # fmt: skip
    path = tmp_path / "gsm.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    spec = task_of(load_corpus(str(path)))
    card = task_of(gsm)
    for row in rows:
        gold = extract_answer(row["answer"], spec)
        assert gold == extract_answer(row["answer"], card) and gold.replace(",", "").isdigit()
        assert same_answer(extract_answer(f"so the answer is {gold}", spec), gold, spec)
