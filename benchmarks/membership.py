"""Model probes on models with known training data, per seed (the README's membership figures).

For each seed: three tiny GPT-2s trained from scratch (`tests.models.train_causal_lm`) on 150
GSM8K training questions; `dirty` also sees a random half of a 100-item GSM8K test slice three
times, `clean` and `clean2` (two model seeds) see 50 other training questions in its place. Prints
each probe's AUROC on the seen half for dirty-vs-clean and clean2-vs-clean, the share each flags
at `--fpr`, and the rewrite test's p-value for both pairs; `--json PATH` keeps the numbers. About
two minutes a seed on 2 CPU cores.

    python -m benchmarks.membership [--seeds 0,1,2] [--fpr 0.05] [--json PATH]
"""

import argparse
import json
import random
import tempfile
from pathlib import Path

import datasets
import numpy as np

from auditor.corpus import Corpus
from auditor.loading import load_corpus
from auditor.membership import auroc, load_causal, run_membership
from probes import build_probes, probes_of_kind
from tests.models import train_causal_lm

ITEMS = 100


def one_seed(seed: int, fpr: float, folder: Path) -> dict:
    train, test = load_corpus("gsm8k:train").texts, load_corpus("gsm8k:test").texts
    rng = random.Random(seed)
    bench = rng.sample(test, ITEMS)
    seen = sorted(rng.sample(range(ITEMS), ITEMS // 2))
    pool = rng.sample(train, 150 + len(seen))
    base, filler = pool[:150], pool[150:]
    paths = {
        "dirty": train_causal_lm(folder / "dirty", base + [bench[i] for i in seen] * 3,
                                 seed=seed, epochs=5),
        "clean": train_causal_lm(folder / "clean", base + filler * 3, seed=seed, epochs=5),
        "clean2": train_causal_lm(folder / "clean2", base + filler * 3, seed=seed + 1000,
                                  epochs=5),
    }  # fmt: skip
    models = {name: load_causal(str(path), "cpu") for name, path in paths.items()}
    corpus = Corpus(datasets.Dataset.from_dict({"id": [str(i) for i in range(ITEMS)],
                                                "text": bench}), source="gsm8k-slice")  # fmt: skip
    truth = np.zeros(ITEMS, dtype=bool)
    truth[seen] = True
    row = {"seed": seed}
    for pair, (candidate, reference) in {"dirty-clean": ("dirty", "clean"),
                                         "clean2-clean": ("clean2", "clean")}.items():  # fmt: skip
        probes = build_probes(probes_of_kind("model"))
        report = run_membership(models[candidate], corpus, probes, reference=models[reference],
                                task="generation", fpr=fpr)  # fmt: skip
        for name, probe in report.probes.items():
            scores = np.array([np.nan if i.probes[name].score is None else i.probes[name].score
                               for i in report.items])  # fmt: skip
            flags = np.array([i.probes[name].flagged for i in report.items])
            row[f"{pair}/{name}"] = {
                "auroc": auroc(scores, truth), "flagged_seen": int(flags[truth].sum()),
                "flagged_unseen": int(flags[~truth].sum()),
                "p_value": probe.test.p_value if probe.test else None,
            }  # fmt: skip
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--fpr", type=float, default=0.05)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = []
    for seed in (int(s) for s in args.seeds.split(",")):
        with tempfile.TemporaryDirectory() as folder:
            row = one_seed(seed, args.fpr, Path(folder))
        rows.append(row)
        for key, value in row.items():
            if key != "seed":
                print(seed, key, value, flush=True)
    if args.json:
        args.json.write_text(json.dumps({"fpr": args.fpr, "items": ITEMS, "rows": rows},
                                        indent=1) + "\n")  # fmt: skip


if __name__ == "__main__":
    main()
