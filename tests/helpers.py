"""Small builders shared by tests."""

import datasets

from auditor.corpus import Corpus


def corpus(texts: list[str], source: str = "test") -> Corpus:
    ids = [f"{source}:{i}" for i in range(len(texts))]
    return Corpus(datasets.Dataset.from_dict({"id": ids, "text": list(texts)}), source=source)
