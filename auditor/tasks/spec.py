"""What kind of task a benchmark is (its `TaskSpec`), and how its answers are read and compared.

A card says it (task type, label names, answer extractor, chance level); for a local file it is
inferred from the columns: `choices` means multiple choice, `label` classification (label names
= the sorted distinct labels), `answer` generation.
"""

import re
from dataclasses import dataclass

from auditor import cards
from auditor.corpus import Corpus
from auditor.errors import InputError

FINAL_ANSWER = r"####\s*(?P<answer>-?[0-9][0-9,]*(?:\.[0-9]+)?)"
"""The final-answer marker of worked solutions in GSM8K's format, read from local files too (a
file's gold answer would otherwise be the whole solution, which no output can match)."""
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


@dataclass(frozen=True)
class TaskSpec:
    task: str
    label_names: list[str] | None = None
    answer_pattern: str | None = None
    numeric: bool = False
    chance: float | None = None


def task_of(corpus: Corpus, train: Corpus | None = None) -> TaskSpec:
    """The benchmark's task; label names not fixed by a card are the distinct labels of the
    benchmark and, when given, of the training data (a test slice may lack a rare class)."""
    name = corpus.source.partition(":")[0]
    columns = set(corpus.dataset.column_names)
    if cards.is_card(name):
        card = cards.load_card(name)
        return TaskSpec(
            task=card.task,
            label_names=card.label_names or _distinct(corpus, train),
            answer_pattern=card.answer.extractor if card.answer else None,
            numeric=bool(card.answer and card.answer.numeric),
            chance=card.chance_level,
        )
    if "choices" in columns and "label" in columns:
        return TaskSpec("multiple_choice")
    if "label" in columns:
        names = _distinct(corpus, train)
        return TaskSpec("classification", label_names=names, chance=1 / len(names))
    if "answer" in columns:
        answers = [a for a in corpus.column("answer") if a is not None]
        if answers and all(re.search(FINAL_ANSWER, a) for a in answers):
            # worked solutions ending in "#### 72" (GSM8K's format): compare the final numbers
            return TaskSpec("generation", answer_pattern=FINAL_ANSWER, numeric=True, chance=0.0)
        numeric = bool(answers) and all(_NUMBER.fullmatch(a.strip()) for a in answers)
        return TaskSpec("generation", numeric=numeric, chance=0.0)
    raise InputError(
        f"{corpus.source}: cannot tell what task this is: it has no label, answer or choices "
        f"field (fields: {', '.join(sorted(columns))}). Name the label with --label-field."
    )


def _distinct(corpus: Corpus, train: Corpus | None = None) -> list[str] | None:
    labels = corpus.column("label")
    if labels is None:
        return None
    more = (train.column("label") or []) if train is not None else []
    return sorted({label for label in [*labels, *more] if label is not None})


def extract_answer(text: str, spec: TaskSpec) -> str | None:
    """The final answer in `text`: the card's pattern if it matches, else (numeric tasks) the
    last number, else the stripped text (lm-evaluation-harness's strict-then-flexible reading)."""
    if spec.answer_pattern:
        found = re.search(spec.answer_pattern, text)
        if found:
            return found.groupdict().get("answer") or found.group(1)
    if spec.numeric:
        numbers = _NUMBER.findall(text)
        return numbers[-1] if numbers else None
    return text.strip() or None


def same_answer(predicted: str | None, gold: str | None, spec: TaskSpec) -> bool:
    if predicted is None or gold is None:
        return False
    if spec.numeric:
        try:
            return float(predicted.replace(",", "")) == float(gold.replace(",", ""))
        except ValueError:
            return False
    return predicted.strip() == gold.strip()


def choice_index(label: str, n_choices: int) -> int:
    """Gold choice from a label: an index ("2") or a letter ("C")."""
    text = str(label).strip()
    index = int(text) if text.isdigit() else ord(text.upper()) - ord("A") if len(text) == 1 else -1
    if not 0 <= index < n_choices:
        raise InputError(f"label {label!r} names no choice among {n_choices}.")
    return index
