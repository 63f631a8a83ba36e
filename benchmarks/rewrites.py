"""Recall on planted rewrites and the false-positive rate, per seed (the README's table).

For each seed: 100 GSM8K test questions per rewrite type (`auditor.rewrites`: numbers re-drawn,
names changed, synonyms swapped, sentences reordered, all four combined), each rewritten and
followed by its worked solution as one training document, planted among the 7,473 GSM8K
training documents (question + solution). The benchmark is all 1,319 GSM8K test questions; the
819 not planted measure the false-positive rate. `audit overlap`'s default probes and
calibration (`--fpr 0.01`, null of 2,000 training spans, the run's seed). Prints one row per
seed: recall per type, overall, the measured false-positive rate on the unplanted items and the
calibration's estimate; `--json PATH` keeps the numbers.

    python -m benchmarks.rewrites [--seeds 0,1,2] [--per-type 100] [--json PATH]
"""

import argparse
import json

import datasets
import numpy as np

from auditor.corpus import Corpus
from auditor.loading import load_corpus
from auditor.overlap import run_overlap
from auditor.rewrites import REWRITES, plant_rewrites


def as_corpus(texts: list[str], source: str) -> Corpus:
    ids = [f"{source}:{i}" for i in range(len(texts))]
    return Corpus(datasets.Dataset.from_dict({"id": ids, "text": texts}), source=source)


def measure(seed: int, per_type: int) -> dict:
    test, train = load_corpus("gsm8k:test"), load_corpus("gsm8k:train")
    documents = [f"{q}\n{a}" for q, a in zip(train.texts, train.dataset["answer"], strict=True)]
    planted = plant_rewrites(test.texts, list(test.dataset["answer"]), documents,
                             per_type=per_type, seed=seed)  # fmt: skip
    report = run_overlap(as_corpus(planted.train, "train"), as_corpus(planted.bench, "bench"),
                         seed=seed)  # fmt: skip
    flagged = np.array([item.flagged for item in report.items])
    row = {"seed": seed, "per_type": per_type}
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
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--per-type", type=int, default=100)
    parser.add_argument("--json")
    args = parser.parse_args()
    rows = [measure(int(seed), args.per_type) for seed in args.seeds.split(",")]
    header = ["seed", *REWRITES, "overall", "fpr_measured", "fpr_estimated"]
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
