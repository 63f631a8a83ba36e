"""Small builders shared by tests."""

import json
from pathlib import Path

import datasets

from auditor.corpus import Corpus


def corpus(texts: list[str], source: str = "test") -> Corpus:
    ids = [f"{source}:{i}" for i in range(len(texts))]
    return Corpus(datasets.Dataset.from_dict({"id": ids, "text": list(texts)}), source=source)


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    """`rows` as a JSON Lines file at `path` (UTF-8)."""
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path
