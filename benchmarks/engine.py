"""The local engine against `--engine ray` on the same corpus: documents/s of the text probes.

Synthesises a JSONL corpus of `--size` documents from the shipped GSM8K training set (as
`benchmarks.scale` does), then runs `audit overlap -p exact -p ngram -p minhash --bench
gsm8k:test` on it in a fresh process with each engine, as a user would, checks that both flag
the same items, and prints wall time, documents/s and the ratio. The Ray run starts a local Ray
with one worker per core (no `--ray-address`), so its time includes starting Ray (measured apart
and printed) and shipping every batch to a worker process and its prepared output back: on one
machine Ray is not expected to beat the local engine's forked processes, which inherit the
fitted probes and read the corpus themselves; it pays off where the cluster has more cores than
this machine.

    python -m benchmarks.engine [--size 100000]
"""

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.scale import write_corpus_apart


def audit(path: Path, cache: Path, engine: str) -> tuple[float, list[int]]:
    """Wall seconds of one `audit overlap` and the items it flagged."""
    command = [sys.executable, "-m", "auditor", "overlap", "--train", str(path), "--bench",
               "gsm8k:test", "-p", "exact", "-p", "ngram", "-p", "minhash", "--cache-dir",
               str(cache), "--format", "json", "-q", "--engine", engine]  # fmt: skip
    start = time.perf_counter()
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    seconds = time.perf_counter() - start
    return seconds, [item["index"] for item in json.loads(out)["items"] if item["flagged"]]


def ray_start_seconds() -> float:
    """What starting and stopping a local Ray costs, apart from the work."""
    code = ("import logging, os, ray; ray.init(address='local', num_cpus=os.cpu_count(), "
            f"include_dashboard=False, log_to_driver=False, logging_level={logging.ERROR}); "
            "ray.shutdown()")  # fmt: skip
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "corpus.jsonl"
        write_corpus_apart(path, args.size)
        timings = {}
        for engine in ("local", "ray"):
            seconds, flagged = audit(path, Path(folder) / f"cache-{engine}", engine)
            timings[engine] = (seconds, flagged)
            print(f"--engine {engine:5}: {seconds:6.1f} s, {args.size / seconds:8,.0f} "
                  f"documents/s, {len(flagged)} flagged", flush=True)  # fmt: skip
    if timings["local"][1] != timings["ray"][1]:
        raise SystemExit("the engines flagged different items")
    ratio = timings["local"][0] / timings["ray"][0]
    print(f"{os.cpu_count()} cores: Ray at x{ratio:.2f} the local engine's documents/s "
          f"(starting a local Ray: {ray_start_seconds():.1f} s of its time)")  # fmt: skip


if __name__ == "__main__":
    main()
