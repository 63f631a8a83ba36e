"""The overlap probes at scale: peak memory and documents/s over 100k and 1M training documents.

Synthesises JSONL corpora from the shipped GSM8K training set (question + solution, sentences
shuffled per copy: `benchmarks.common.gsm8k_scan_corpus`) of `--sizes` documents, then runs
`audit overlap --bench gsm8k:test` with the probes of `--probes` on each in a fresh process, as a
user would, and prints its peak RSS (the audit process and its workers), wall time, documents/s
and the ratios between sizes. The corpus is spooled to disk as it is read and the pass reads it
back batch by batch (`auditor.loading.spool`); the probes' state is bounded by the benchmark, so
the peak should not grow with the corpus.

- `--probes text`: exact, ngram and minhash (the default).
- `--probes embedding`: the embedding probe (windows of each document, embedded and cached in
  batches on disk, each benchmark item's best window kept). Its cost is the encoder's: MiniLM
  embeds about 86 GSM8K documents/s on 2 CPU cores (1M documents: about 3 hours), so
  `--encoder tiny` (the default here) embeds with a 2-layer, 64-wide BERT built from a config
  with MiniLM's tokenizer, which measures what the probe itself holds and costs at 1M documents
  in minutes; `--encoder minilm` measures the real encoder's throughput.

    python -m benchmarks.scale [--sizes 100000,1000000] [--probes text|embedding]
        [--encoder tiny|minilm|PATH] [--json PATH]
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import gsm8k_scan_corpus


def write_corpus(path: Path, size: int) -> None:
    repeats = math.ceil(size / 7473)
    documents = gsm8k_scan_corpus(repeats=repeats)[:size]
    with path.open("w") as handle:
        for text in documents:
            handle.write(json.dumps({"text": text}) + "\n")


def write_corpus_apart(path: Path, size: int) -> None:
    """`write_corpus` in its own process: a forked child starts with its parent's resident
    pages, so a benchmark process that had held the 1M documents would inflate the audit's
    measured peak (it did: 794 MB measured, 614-658 MB alone)."""
    code = "import sys, pathlib; from benchmarks.scale import write_corpus; " \
           "write_corpus(pathlib.Path(sys.argv[1]), int(sys.argv[2]))"  # fmt: skip
    subprocess.run([sys.executable, "-c", code, str(path), str(size)], check=True)


PROBES = {"text": ["exact", "ngram", "minhash"], "embedding": ["embedding"]}


def run(path: Path, cache: Path, probes: list[str], encoder: str) -> dict:
    chosen = [arg for name in probes for arg in ("-p", name)]
    command = [sys.executable, "-m", "auditor", "overlap", "--train", str(path), "--bench",
               "gsm8k:test", *chosen, "--encoder", encoder, "--cache-dir", str(cache),
               "--format", "json", "-q"]  # fmt: skip
    with tempfile.TemporaryFile("w+") as out:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=out)
        # This child's own peak (with its workers'): RUSAGE_CHILDREN would be the peak of every
        # child so far, the corpus writer's included.
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status):
            raise SystemExit(f"audit overlap failed: {' '.join(command)}")
        out.seek(0)
        report = json.load(out)
    return {"seconds": seconds, "peak_mb": usage.ru_maxrss / 1024,
            "flagged": report["summary"]["flagged"]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--probes", choices=PROBES, default="text")
    parser.add_argument("--encoder", default="tiny", help="tiny, minilm, or a model folder")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        encoder = args.encoder
        if encoder == "tiny":
            from tests.models import tiny_bert

            encoder = str(tiny_bert(Path(folder) / "tiny-encoder"))
        for size in (int(s) for s in args.sizes.split(",")):
            path = Path(folder) / f"corpus-{size}.jsonl"
            write_corpus_apart(path, size)
            measured = run(path, Path(folder) / f"cache-{size}", PROBES[args.probes], encoder)
            row = {"documents": size, "file_mb": path.stat().st_size / 2**20,
                   "probes": PROBES[args.probes], "encoder": args.encoder, **measured}  # fmt: skip
            path.unlink()
            rows.append(row)
            print(f"{size:>9,} documents ({row['file_mb']:5.0f} MB): peak RSS "
                  f"{row['peak_mb']:6.0f} MB, {row['seconds']:6.1f} s, "
                  f"{size / row['seconds']:8,.0f} documents/s, {row['flagged']} flagged",
                  flush=True)  # fmt: skip
    first, last = rows[0], rows[-1]
    growth = last["documents"] / first["documents"]
    print(
        f"x{growth:.0f} documents: peak RSS x{last['peak_mb'] / first['peak_mb']:.2f}, "
        f"time x{last['seconds'] / first['seconds']:.1f}"
    )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
