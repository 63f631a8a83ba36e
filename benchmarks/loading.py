"""Loading a large JSONL file: peak memory and documents/s, streamed vs the whole-file reader.

Writes GSM8K train (question + answer) repeated `--repeats` times as one JSONL file (40 repeats:
299k documents, about 120 MB), then loads it in a fresh process twice: through the streamed path
(UTF-8, the default) and through the whole-file reader the other encodings take (`--encoding
cp1252`, identical text for this ASCII file), the named baseline. Prints each one's peak RSS
above the interpreter's at start and its documents/s, and checks both corpora have the same
fingerprint.

    python -m benchmarks.loading [--repeats 40]
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from auditor.loading import load_corpus

CHILD = """
import json, resource, sys, time
from auditor.loading import LoadOptions, load_corpus
start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
began = time.perf_counter()
corpus = load_corpus(sys.argv[1], LoadOptions(encoding=sys.argv[2] or None))
seconds = time.perf_counter() - began
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"mb": (peak - start) / 1024, "docs": len(corpus), "s": seconds,
                  "fingerprint": corpus.fingerprint}))
"""


def measure(path: Path, encoding: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), encoding], check=True,
                         capture_output=True, text=True).stdout  # fmt: skip
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=40)
    args = parser.parse_args()
    train = load_corpus("gsm8k:train")
    lines = [json.dumps({"question": q, "answer": a})
             for q, a in zip(train.texts, train.column("answer"), strict=True)]  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "corpus.jsonl"
        with path.open("w") as handle:
            for _ in range(args.repeats):
                handle.write("\n".join(lines) + "\n")
        size = path.stat().st_size / 2**20
        streamed, whole = measure(path, ""), measure(path, "cp1252")
    print(f"{streamed['docs']:,} documents, {size:.0f} MB of JSONL")
    for name, row in (("whole-file reader (baseline)", whole), ("streamed", streamed)):
        print(f"{name:30}: peak +{row['mb']:7.0f} MB, {row['docs'] / row['s']:9,.0f} docs/s")
    print(f"memory ratio: {whole['mb'] / streamed['mb']:.1f}x less; speed ratio: "
          f"{whole['s'] / streamed['s']:.2f}x")  # fmt: skip
    if streamed["fingerprint"] != whole["fingerprint"]:
        sys.exit("the two paths loaded different texts")


if __name__ == "__main__":
    main()
