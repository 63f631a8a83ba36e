"""Regenerate the golden run report (`tests/golden/run_report.json`) after a schema change.

    .venv/bin/python -m tests.regenerate_golden

runs `audit run` on the fixture's TREC slice (`tests/golden/bench.jsonl`, `train.jsonl`) with a
tiny BERT built from a config, in a fresh cache, and writes the report with the temporary paths
replaced by `FIXTURE`. Then regenerate the snapshots (`UPDATE_GOLDEN=1 pytest
tests/test_golden.py`) and review both diffs.
"""

import json
import os
import tempfile
from pathlib import Path

from typer.testing import CliRunner

GOLDEN = Path(__file__).parent / "golden"


def main() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    from auditor.cli import app
    from tests.models import tiny_bert

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        for name in ("bench.jsonl", "train.jsonl"):
            (folder / name).write_text((GOLDEN / name).read_text())
        base = tiny_bert(folder / "base")
        out = folder / "report.json"
        args = ["run", "--model", str(base), "--bench", str(folder / "bench.jsonl"), "--train",
                str(folder / "train.jsonl"), "--cache-dir", str(folder / "cache"), "--out",
                str(out), "-q", "--format", "json"]  # fmt: skip
        result = CliRunner().invoke(app, args)
        if result.exit_code != 0:
            raise SystemExit(result.output)
        text = out.read_text().replace(str(folder), "FIXTURE")
    (GOLDEN / "run_report.json").write_text(json.dumps(json.loads(text), indent=1) + "\n")


if __name__ == "__main__":
    main()
