"""Controls trained side by side in their own processes (`auditor.controls.parallel`)."""

import multiprocessing
import threading
from pathlib import Path

import pytest
import torch

from auditor.controls import ControlPlan, run_control
from auditor.controls.parallel import controls_started, default_jobs
from auditor.errors import InputError
from auditor.loading import load_corpus
from auditor.tasks import task_of
from tests.helpers import write_jsonl
from tests.models import tiny_bert


@pytest.fixture(scope="module")
def trec(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trec")
    train, test = load_corpus("trec:train"), load_corpus("trec:test")

    def rows(corpus, start: int, n: int) -> list[dict]:
        texts, labels = corpus.texts[start : start + n], corpus.column("label")[start : start + n]
        return [{"text": text, "label": label} for text, label in zip(texts, labels, strict=True)]

    train_corpus = load_corpus(str(write_jsonl(folder / "train.jsonl", rows(train, 0, 400))))
    bench_corpus = load_corpus(str(write_jsonl(folder / "bench.jsonl", rows(test, 0, 100))))
    return train_corpus, bench_corpus, tiny_bert(folder / "bert")


def plans(base: Path, **overrides) -> list[ControlPlan]:
    settings = {"learning_rates": (1e-3, 3e-3), "epochs": 2, "batch_size": 32, **overrides}
    return [ControlPlan.from_budget(str(base), init, "quick", **settings)
            for init in ("scratch", "pretrained")]  # fmt: skip


def test_default_jobs_is_one_per_control_on_a_cpu_with_a_core_each() -> None:
    cores = torch.get_num_threads()
    assert default_jobs("cpu", 2) == min(2, cores)
    assert default_jobs("cpu", 3) == min(3, cores)
    assert default_jobs("cuda", 2) == 1
    assert default_jobs("auto", 2) == (1 if torch.cuda.is_available() else min(2, cores))


def test_controls_in_two_processes_learn_what_they_learn_here(trec, tmp_path) -> None:
    """Two controls trained at once, each in a spawned process, give the results (chosen rate,
    search curves, per-item predictions) that training them here one after the other gives
    with the threads a process gets; the progress of both reaches this process's callback; and
    a second start reads both from the cache without a process."""
    train, bench, bert = trec
    spec = task_of(bench, train)
    stages: list[str] = []
    lock = threading.Lock()

    def progress(stage: str, done: int, total: int) -> None:
        with lock:
            stages.append(stage)

    with controls_started(plans(bert), train, bench, spec, jobs=2, on_progress=progress,
                          cache_dir=tmp_path / "pool") as pending:  # fmt: skip
        assert len(multiprocessing.active_children()) >= 2  # training while this one goes on
        pooled = pending.results()
    assert list(pooled) == ["scratch", "pretrained"]
    assert any(s.startswith("training scratch control") for s in stages)
    assert any(s.startswith("training pretrained control") for s in stages)

    before = torch.get_num_threads()
    torch.set_num_threads(max(1, before // 2))  # a worker's share of this machine's threads
    try:
        here = {plan.init: run_control(plan, train, bench, spec, cache_dir=tmp_path / "here")
                for plan in plans(bert)}  # fmt: skip
    finally:
        torch.set_num_threads(before)
    for init in ("scratch", "pretrained"):
        assert pooled[init].learning_rate == here[init].learning_rate
        assert [row["curve"] for row in pooled[init].search] == [
            row["curve"] for row in here[init].search
        ]
        assert pooled[init].items == here[init].items
        assert pooled[init].provenance["threads"] == max(1, before // 2)

    with controls_started(plans(bert), train, bench, spec, jobs=2,
                          cache_dir=tmp_path / "pool") as pending:  # fmt: skip
        assert multiprocessing.active_children() == []
        again = pending.results()
    assert {init: c.accuracy for init, c in again.items()} == {
        init: c.accuracy for init, c in pooled.items()
    }


def test_a_base_that_cannot_train_the_task_is_refused_before_any_process(tmp_path) -> None:
    gsm = load_corpus("gsm8k:test")
    rows = [{"question": q, "answer": a}
            for q, a in zip(gsm.texts[:3], gsm.column("answer")[:3], strict=True)]  # fmt: skip
    bench = load_corpus(str(write_jsonl(tmp_path / "gsm.jsonl", rows)))
    bert = tiny_bert(tmp_path / "bert")
    spec = task_of(bench, bench)
    with (pytest.raises(InputError, match="encoder-only"),
          controls_started(plans(bert), bench, bench, spec, jobs=2)):  # fmt: skip
        pytest.fail("no control should start")
    assert multiprocessing.active_children() == []


def test_an_error_in_a_worker_is_raised_here_and_stops_the_others(trec, tmp_path) -> None:
    """A control that fails in its process (its base's weight file is not safetensors: found
    only when the process loads it) surfaces as the same input error in this process, and the
    other control's process is stopped, not left training."""
    train, bench, bert = trec
    broken = tiny_bert(tmp_path / "broken")
    for weights in broken.glob("*.safetensors"):
        weights.write_bytes(b"not a safetensors file")
    spec = task_of(bench, train)
    scratch, _ = plans(bert, epochs=20)
    pretrained = ControlPlan.from_budget(str(broken), "pretrained", "quick", epochs=1)
    with (pytest.raises(InputError, match="safetensors weights cannot be read"),
          controls_started([scratch, pretrained], train, bench, spec, jobs=2,
                           cache_dir=tmp_path / "c") as pending):  # fmt: skip
        pending.results()
    assert multiprocessing.active_children() == []


def test_a_worker_killed_without_an_answer_is_an_error_not_a_hang(trec, tmp_path) -> None:
    train, bench, bert = trec
    spec = task_of(bench, train)
    with (pytest.raises(RuntimeError, match="exit code -9"),
          controls_started(plans(bert, epochs=20), train, bench, spec, jobs=2,
                           cache_dir=tmp_path / "c") as pending):  # fmt: skip
        multiprocessing.active_children()[0].kill()  # as the kernel's OOM killer would
        pending.results()
    assert multiprocessing.active_children() == []
