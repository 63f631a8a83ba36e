"""The overlap audit's defaults on real pairs with known answers (the README's table).

Each case runs `run_overlap` with the default probes and calibration (`--fpr 0.01`, seed 0):

- no leak: GSM8K training documents (question + solution) vs TREC test and SST-2 test: flags
  should stay at most about 1%;
- TREC test vs TREC train: every test question with a verbatim copy in train is flagged;
- GSM-Hard (GSM8K test with numbers replaced) vs GSM8K test as the corpus: at least 99%;
- SST-2 test vs MR snippets (the reviews SST-2 was cut from): at least 95%;
- GSM8K test vs GSM8K train documents: a handful, including the items that share a 13-gram.

    python -m benchmarks.overlap_cases [--json PATH]
"""

import argparse
import json
import time
from pathlib import Path

from auditor.loading import load_corpus
from auditor.normalize import normalize
from auditor.overlap import run_overlap
from benchmarks.rewrites import as_corpus

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def gsm8k_documents(split: str) -> list[str]:
    corpus = load_corpus(f"gsm8k:{split}")
    return [f"{q}\n{a}" for q, a in zip(corpus.texts, corpus.dataset["answer"], strict=True)]


def mathwp(name: str) -> list[str]:
    rows = (json.loads(line) for line in (SHARED / "mathwp" / name).read_text().splitlines())
    return [row["input"] for row in rows if row]


def kim(name: str, encoding: str = "utf-8") -> list[str]:
    lines = (SHARED / "kim2014" / name).read_bytes().decode(encoding).split("\n")
    return [line.split(" ", 1)[1] for line in lines if " " in line]


def case(name: str, train: list[str], bench: list[str]) -> dict:
    started = time.perf_counter()
    report = run_overlap(as_corpus(train, "train"), as_corpus(bench, "bench"))
    row = {
        "case": name, "bench": len(bench), "train": len(train),
        "flagged": report.summary.flagged, "fraction": report.summary.fraction,
        "by_probe": {probe: summary.flagged for probe, summary in report.probes.items()},
        "estimated_fpr": report.calibration.estimated_fpr if report.calibration else None,
        "seconds": round(time.perf_counter() - started, 1),
    }  # fmt: skip
    row["report"] = report
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json")
    args = parser.parse_args()
    train_docs = gsm8k_documents("train")
    trec_train, trec_test = kim("TREC.train.all", "latin-1"), kim("TREC.test.all")
    rows = [
        case("GSM8K train vs TREC test (no leak)", train_docs, trec_test),
        case("GSM8K train vs SST-2 test (no leak)", train_docs, kim("stsa.binary.test")),
        case("TREC test vs TREC train", trec_train, trec_test),
        case("GSM-Hard vs GSM8K test", load_corpus("gsm8k:test").texts, mathwp("gsmhardv2.jsonl")),
        case("SST-2 test vs MR snippets", kim("rt-polarity.all", "latin-1"),
             kim("stsa.binary.test")),
        case("GSM8K test vs GSM8K train", train_docs, load_corpus("gsm8k:test").texts),
    ]  # fmt: skip
    trec_copies = {normalize(text) for text in trec_train}
    verbatim = [i for i, text in enumerate(trec_test) if normalize(text) in trec_copies]
    found = sum(rows[2]["report"].items[i].flagged for i in verbatim)
    rows[2]["verbatim_copies"], rows[2]["verbatim_found"] = len(verbatim), found
    gsm = rows[5]["report"]
    rows[5]["ngram_13_items"] = [item.index for item in gsm.items
                                 if item.probes["ngram"].score > 0]  # fmt: skip
    rows[5]["flagged_items"] = [item.index for item in gsm.items if item.flagged]
    print("| case | flagged | by probe | est. FPR |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        probes = ", ".join(f"{k} {v}" for k, v in row["by_probe"].items() if v)
        print(f"| {row['case']} | {row['flagged']} / {row['bench']} ({row['fraction']:.1%}) | "
              f"{probes or '-'} | {row['estimated_fpr']:.2%} |")  # fmt: skip
    print(f"TREC verbatim copies found: {found} of {len(verbatim)}")
    print(
        f"GSM8K test items sharing a 13-gram: {rows[5]['ngram_13_items']}; "
        f"flagged: {rows[5]['flagged_items']}"
    )
    if args.json:
        for row in rows:
            row.pop("report")
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
