"""Recall on planted rewrites and the false-positive rate, per seed (the README's table).

For each seed: 100 benchmark questions per rewrite type (`auditor.rewrites`: numbers re-drawn,
names changed, synonyms swapped, sentences reordered, all four combined), each rewritten and
followed by its solution as one training document, planted among the 7,473 GSM8K training
documents (question + worked solution). Benchmarks (`--data`):

- `gsm8k`: the 1,319 GSM8K test questions, planted with their worked solutions;
- `asdiv`: the 2,096 ASDiv problems (another source and style), planted with "Answer: N".

The items not planted measure the false-positive rate. `audit overlap`'s default probes and
calibration (`--fpr 0.01`, null of 2,000 training-document openings, the run's seed). Prints
one row per seed: recall per type, overall, the measured false-positive rate on the unplanted
items and the calibration's estimate; `--json PATH` keeps the numbers.

    python -m benchmarks.rewrites [--data gsm8k] [--seeds 0,1,2] [--per-type 100] [--json PATH]
"""

import argparse
import json
from pathlib import Path

import datasets
import numpy as np

from auditor.corpus import Corpus
from auditor.loading import load_corpus
from auditor.overlap import run_overlap
from auditor.rewrites import REWRITES, plant_rewrites

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def as_corpus(texts: list[str], source: str) -> Corpus:
    ids = [f"{source}:{i}" for i in range(len(texts))]
    return Corpus(datasets.Dataset.from_dict({"id": ids, "text": texts}), source=source)


def benchmark(data: str) -> tuple[list[str], list[str]]:
    """(questions, solutions) of a benchmark."""
    if data == "gsm8k":
        test = load_corpus("gsm8k:test")
        return test.texts, list(test.dataset["answer"])
    rows = [json.loads(line) for line in (SHARED / "mathwp" / f"{data}.jsonl").open() if line]
    return [row["input"] for row in rows], [f"Answer: {row['target']}" for row in rows]


def measure(seed: int, per_type: int, data: str = "gsm8k") -> dict:
    train = load_corpus("gsm8k:train")
    documents = [f"{q}\n{a}" for q, a in zip(train.texts, train.dataset["answer"], strict=True)]
    questions, solutions = benchmark(data)
    planted = plant_rewrites(questions, solutions, documents, per_type=per_type, seed=seed)
    report = run_overlap(as_corpus(planted.train, "train"), as_corpus(planted.bench, "bench"),
                         seed=seed)  # fmt: skip
    flagged = np.array([item.flagged for item in report.items])
    row = {"data": data, "seed": seed, "per_type": per_type}
    for kind in REWRITES:
        row[kind] = float(flagged[planted.of_type(kind)].mean())
    row["overall"] = float(flagged[list(planted.planted)].mean())
    row["fpr_measured"] = float(flagged[planted.clean].mean())
    row["fpr_estimated"] = report.calibration.estimated_fpr
    row["thresholds"] = report.calibration.thresholds
    row["by_probe"] = {
        kind: {name: float(np.mean([report.items[i].probes[name].flagged
                                    for i in planted.of_type(kind)])) for name in report.probes}
        for kind in REWRITES
    }  # fmt: skip
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", choices=["gsm8k", "asdiv"], default="gsm8k")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--per-type", type=int, default=100)
    parser.add_argument("--json")
    args = parser.parse_args()
    rows = [measure(int(seed), args.per_type, args.data) for seed in args.seeds.split(",")]
    header = ["seed", *REWRITES, "overall", "fpr_measured", "fpr_estimated"]
    print(f"benchmark: {args.data}; {args.per_type} planted per rewrite type")
    print("| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    for row in rows:
        cells = [str(row["seed"])] + [f"{row[key]:.3f}" for key in header[1:]]
        print("| " + " | ".join(cells) + " |")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=2)


if __name__ == "__main__":
    main()
