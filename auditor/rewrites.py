"""Deterministic rewrites of benchmark items: the edits a leaked item receives on its way into
training data (numbers re-drawn, names changed, words swapped for synonyms, sentences
reordered, or all of these at once).

They build the planted-rewrite test sets that measure the overlap probes' recall
(`benchmarks/rewrites.py`, `tests/test_rewrites.py`). Every rule is a pure function of the text
and a seed: the same seed gives the same rewrite on every machine (`random.Random` seeded by the
seed and the text's digest, never the global generator).
"""

import hashlib
import random
import re
from collections.abc import Callable
from dataclasses import dataclass

from auditor.skeleton import NUMBER, names_in

WORD = re.compile(r"[A-Za-z]+")
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")

FIRST_NAMES = tuple(
    (
        "Aaron Abby Adam Alice Amir Ana Andre Anna Ben Bella Carl Carla Chen Chloe Dan Dana David "
        "Diego Elena Eli Emma Eric Eva Felix Fiona Frank Gina Grace Hana Hank Ivan Iris Jack Jade "
        "James Jana Jorge Julia Kai Kara Ken Kim Leo Lena Liam Lily Luca Lucy Marco Maria Mark "
        "Maya Mia Mike Nadia Nina Noah Nora Olga Omar Oscar Paul Pedro Rosa Ravi Rita Ryan Sam "
        "Sara Sean Sofia Tara Tom Tina Uma Victor Vera Wade Wendy Yuki Zara Zoe"
    ).split()
)
"""Replacement names (none is a common English word, so a swap never reads as another edit)."""

SYNONYMS = {
    "buys": "purchases", "bought": "purchased", "buy": "purchase", "has": "possesses",
    "have": "possess", "each": "every", "total": "overall", "makes": "produces",
    "make": "produce", "sells": "vends", "sold": "vended", "gets": "receives", "get": "receive",
    "needs": "requires", "need": "require", "wants": "wishes", "want": "wish", "spent": "paid",
    "spends": "pays", "money": "cash", "friends": "pals", "friend": "pal", "store": "shop",
    "car": "vehicle", "costs": "is priced at", "cost": "price", "price": "cost", "big": "large",
    "small": "little", "large": "big", "little": "small", "start": "begin", "starts": "begins",
    "started": "began", "finish": "complete", "finished": "completed", "house": "home",
    "job": "occupation", "works": "labors", "worked": "labored", "work": "labor",
    "takes": "requires", "took": "needed", "gave": "handed", "gives": "hands", "give": "hand",
    "half": "one half", "twice": "two times", "people": "persons", "children": "kids",
    "kids": "children", "students": "pupils", "school": "academy", "class": "course",
    "week": "seven days", "hour": "sixty minutes", "bakes": "cooks", "eats": "consumes",
    "eat": "consume", "ate": "consumed", "drives": "travels", "walks": "strolls",
    "runs": "jogs", "ran": "jogged", "picks": "selects", "picked": "selected",
    "pays": "spends", "paid": "spent", "earns": "makes", "earned": "made", "uses": "utilizes",
    "used": "utilized", "remaining": "left over", "rest": "remainder", "amount": "quantity",
    "number": "count", "store's": "shop's", "bag": "sack", "bags": "sacks", "box": "crate",
    "boxes": "crates", "dollars": "bucks", "fast": "quickly", "many": "numerous",
    "several": "a few", "decides": "chooses", "decided": "chose", "tries": "attempts",
    "goes": "heads", "went": "headed", "buying": "purchasing",
    "selling": "vending", "making": "producing", "garden": "yard", "farm": "ranch",
    "shirt": "top", "shoes": "sneakers", "cookies": "biscuits", "candy": "sweets",
}  # fmt: skip
"""Near-synonyms for words common in math word problems (the swaps a paraphraser makes)."""


def _rng(text: str, seed: int, rule: str) -> random.Random:
    digest = hashlib.sha256(f"{rule}|{seed}|{text}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def change_numbers(text: str, seed: int = 0) -> str:
    """Every number re-drawn: a different value with the same digit count (commas and decimals
    kept in place), as GSM-Hard-style edits do."""
    rng = _rng(text, seed, "numbers")

    def redraw(match: re.Match) -> str:
        old = match.group()
        digits = [c for c in old if c.isdigit()]
        while True:
            new = [str(rng.randint(1 if i == 0 and len(digits) > 1 else 0, 9))
                   for i in range(len(digits))]  # fmt: skip
            if new != digits and new != ["0"]:
                break
        out, position = [], 0
        for char in old:
            if char.isdigit():
                out.append(new[position])
                position += 1
            else:
                out.append(char)
        return "".join(out)

    return NUMBER.sub(redraw, text)


def change_names(text: str, seed: int = 0) -> str:
    """Every name replaced by another (consistently: one name, one replacement)."""
    rng = _rng(text, seed, "names")
    names = names_in(text)
    pool = [name for name in FIRST_NAMES if name not in names]
    mapping = dict(zip(names, rng.sample(pool, min(len(names), len(pool))), strict=False))
    if not mapping:
        return text
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, mapping)) + r")\b")
    return pattern.sub(lambda m: mapping[m.group()], text)


def swap_synonyms(text: str, seed: int = 0, rate: float = 0.6) -> str:
    """Each word that has a near-synonym in `SYNONYMS` is swapped with probability `rate`."""
    rng = _rng(text, seed, "synonyms")

    def swap(match: re.Match) -> str:
        word = match.group()
        synonym = SYNONYMS.get(word.lower())
        if synonym is None or rng.random() >= rate:
            return word
        return synonym.capitalize() if word[0].isupper() else synonym

    return WORD.sub(swap, text)


def reorder_sentences(text: str, seed: int = 0) -> str:
    """The sentences before the final question shuffled (the question stays last, as a
    rewriter keeps it); a one-sentence item is returned as it is."""
    sentences = SENTENCE.split(text.strip())
    if len(sentences) < 3:
        return text
    head, last = sentences[:-1], sentences[-1]
    rng = _rng(text, seed, "reorder")
    order = list(range(len(head)))
    for _ in range(10):
        rng.shuffle(order)
        if order != sorted(order):
            break
    return " ".join([head[i] for i in order] + [last])


def combined(text: str, seed: int = 0) -> str:
    """All four edits at once."""
    text = change_numbers(text, seed)
    text = change_names(text, seed)
    text = swap_synonyms(text, seed)
    return reorder_sentences(text, seed)


def twin(text: str, seed: int = 0) -> str:
    """A twin of a benchmark item for the model's rewrite test (`probes.rewrite`): numbers
    re-drawn and names swapped, the edits that keep a problem's task but not its surface (a text
    with neither comes back unchanged)."""
    return change_names(change_numbers(text, seed), seed)


REWRITES: dict[str, Callable[[str, int], str]] = {
    "numbers": change_numbers,
    "names": change_names,
    "synonyms": swap_synonyms,
    "reorder": reorder_sentences,
    "combined": combined,
}
"""The rewrite types, by name, in the order the reports list them."""


@dataclass(frozen=True)
class PlantedSet:
    """A benchmark and a training corpus with rewritten copies of known items planted in it."""

    bench: list[str]
    train: list[str]
    planted: dict[int, str]
    """Benchmark index -> the rewrite type of its planted copy."""
    rows: dict[int, int]
    """Benchmark index -> the training row of its planted copy."""

    def of_type(self, kind: str) -> list[int]:
        return [index for index, planted in self.planted.items() if planted == kind]

    @property
    def clean(self) -> list[int]:
        return [index for index in range(len(self.bench)) if index not in self.planted]


def plant_rewrites(
    questions: list[str],
    solutions: list[str],
    documents: list[str],
    *,
    per_type: int,
    seed: int,
    kinds: tuple[str, ...] = tuple(REWRITES),
) -> PlantedSet:
    """Plant `per_type` rewritten benchmark questions of each kind, each followed by its worked
    solution as one training document, among `documents` (shuffled, seeded). Items are drawn at
    random among those the rewrite changes (a names rewrite needs names)."""
    rng = random.Random(seed)
    order = list(range(len(questions)))
    rng.shuffle(order)
    planted: dict[int, str] = {}
    copies = []
    for kind in kinds:
        chosen = 0
        for index in order:
            if chosen == per_type:
                break
            if index in planted:
                continue
            rewritten = REWRITES[kind](questions[index], seed)
            if rewritten == questions[index]:
                continue
            planted[index] = kind
            copies.append(f"{rewritten}\n{solutions[index]}")
            chosen += 1
    train = list(documents) + copies
    order = list(range(len(train)))
    rng.shuffle(order)
    position = {source: row for row, source in enumerate(order)}
    rows = {index: position[len(documents) + k] for k, index in enumerate(planted)}
    return PlantedSet(bench=list(questions), train=[train[i] for i in order], planted=planted,
                      rows=rows)  # fmt: skip
