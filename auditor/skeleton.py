"""The skeleton of a text: numbers and names replaced by placeholders, so that an item whose
numbers were re-drawn or whose people were renamed reads the same as the original.

Rewritten benchmark leaks most often change exactly these (GSM-Hard re-draws every number; a
paraphraser renames people), and each such change breaks every word n-gram and moves a sentence
embedding (measured on GSM8K: renaming the people alone drops MiniLM's cosine to the original
to a median of 0.85). The skeleton keeps the rest of the text as it is:

- a run of numbers with only symbols between them ("16 - 3 - 4 = <<16-3-4=9>>9", "$1,200.50")
  becomes one `NUMBER` placeholder, so a worked calculation is one token, not one per digit;
- a name is a capitalised word (first letter upper case, the rest lower case) that is not one of
  the common words that start sentences (`NOT_NAMES`); every name becomes `NAME`. Text without
  capitals (lower-cased corpora) keeps its words: only numbers change there. Names are replaced
  only where they are incidental (`names_are_incidental`): in a word problem or a story the
  people are interchangeable, but in a factoid question the named entity *is* the question
  ("What is the population of Ohio ?" and "... of Nigeria ?" share a skeleton; measured on TREC,
  replacing names made the audit flag 16% of the test questions against the training set, most
  of them such pairs, against 7% without).

The placeholders are plain words ("some number", "someone") so that a sentence encoder reads
the skeleton as a sentence.
"""

import re

NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?!\w)")
"""One number as written (digits with thousands commas and a decimal part)."""
NUMBER_RUN = re.compile(r"\d[\d,.]*(?:[^\w\n]*\d[\d,.]*)*")
"""Numbers separated only by symbols and spaces: one placeholder for the whole run."""
CAPITALISED = re.compile(r"\b[A-Z][a-z]+\b")
NUMBER_PLACEHOLDER = "some number"
NAME_PLACEHOLDER = "someone"

NOT_NAMES = frozenset(
    (
        "A About After Again All Also Although An And Another Any Are As At Because Before Both "
        "But By Can Could Did Do Does Each Eight Either Every Everyone Find Five For Four From "
        "Given Half Has Have He Her Here Hers Him His How However If In Instead Is It Its Last "
        "Later Let Many May Meanwhile Most Mr Mrs Ms Dr Much Next Nine No None Not Now Of On Once "
        "One Only Or Our Over Please She Since Six So Some Still Such Ten That The Their Them "
        "Then There These They This Those Three Thus To Today Together Two Unfortunately Until "
        "Upon We Well What When Where Whether Which While Who Whom Whose Why Will With Within "
        "Without Would Yes Yesterday You Your Tomorrow Tonight Later First Second Third Finally "
        "Altogether Overall Total Monday Tuesday Wednesday Thursday Friday Saturday Sunday "
        "January February March April June July August September October November December"
    ).split()
)
"""Capitalised words that are not names: sentence starters, titles, days and months."""


def names_in(text: str) -> list[str]:
    """The text's names, in order of first appearance (see the module docstring)."""
    found = (word for word in CAPITALISED.findall(text) if word not in NOT_NAMES)
    return list(dict.fromkeys(found))


NAMES_MIN_WORDS = 20
"""Benchmarks whose median item has at least this many words have incidental names (GSM8K: 43
words, ASDiv: 27); shorter ones are questions about their named entities (TREC: 9)."""


NAME_SETTINGS = ("auto", "yes", "no")


def check_names(setting: str) -> None:
    """A probe's `names` parameter must be one of `NAME_SETTINGS`."""
    from probes.base import ParamError

    if setting not in NAME_SETTINGS:
        raise ParamError("names", f"{setting!r} is not one of {', '.join(NAME_SETTINGS)}")


def names_are_incidental(setting: str, lengths: list[int]) -> bool:
    """Whether to replace names for this benchmark: `setting` "yes" or "no", or "auto" (the
    median item length in words against `NAMES_MIN_WORDS`)."""
    if setting != "auto":
        return setting == "yes"
    return bool(lengths) and sorted(lengths)[len(lengths) // 2] >= NAMES_MIN_WORDS


def skeleton_key(names: bool) -> str:
    """Cache name of the skeleton's rules (embeddings of skeletons are cached under it)."""
    return f"skeleton{SKELETON_VERSION}-numbers" + ("-names" if names else "")


SKELETON_VERSION = 1
"""Bump when the rules change, so cached embeddings of old skeletons are not read."""


def skeleton(text: str, names: bool = True) -> str:
    """`text` with every run of numbers (and, with `names`, every name) replaced by a
    placeholder."""
    text = NUMBER_RUN.sub(NUMBER_PLACEHOLDER, text)
    if names and any(char.isupper() for char in text):
        text = CAPITALISED.sub(
            lambda m: m.group() if m.group() in NOT_NAMES else NAME_PLACEHOLDER, text
        )
    return text
