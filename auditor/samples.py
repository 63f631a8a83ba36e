"""The candidate's scores read from lm-evaluation-harness logs (`lm_eval --log_samples`).

Teams already score their checkpoints with lm-evaluation-harness; re-running generation is the
slowest part of an LLM audit and can disagree with the numbers the team publishes. A
`samples_<task>_<date>.jsonl` holds one row per (document, filter): `doc_id`, the `doc` itself,
`target`, `filtered_resps`, `filter`, `metrics` (the metric names) with each metric's value at
the top level, and `doc_hash` (SHA-256 of the doc as `json.dumps(doc, indent=2,
ensure_ascii=False)`).

Rows are matched to benchmark items by `doc_id` (its position in the benchmark), after checking
what can be checked: every row parses, one filter is chosen (gsm8k writes `strict-match` and
`flexible-extract`: two rows per doc), the metric is 0/1 per sample, every item has exactly one
row, each row's `doc_hash` matches its doc, the doc holds the benchmark item's text (a log of
another split or order fails here), and, when a `results_*.json` of the same run lies beside the
file, the mean equals the aggregate it reports. Any mismatch is an input error naming the line.
"""

import gzip
import hashlib
import json
import math
from pathlib import Path
from typing import Any

from auditor.corpus import Corpus
from auditor.errors import InputError
from auditor.normalize import normalize

METRICS = ("exact_match", "acc", "acc_norm")
"""Per-sample metric keys read by default, the first the rows name."""
TOLERANCE = 1e-6


def _rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as lines:
            rows = []
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as error:
                    message = f"{path}, line {number}: not JSON ({error.msg}); pass the "
                    raise InputError(message + "samples_*.jsonl lm_eval wrote.") from None
                if not isinstance(row, dict) or "doc_id" not in row:
                    raise InputError(f"{path}, line {number}: no doc_id: not a row of "
                                     "lm_eval --log_samples.")  # fmt: skip
                rows.append((number, row))
    except OSError as error:
        raise InputError(f"{path}: cannot read the samples ({error.strerror}).") from error
    except (UnicodeDecodeError, EOFError, gzip.BadGzipFile) as error:
        raise InputError(f"{path}: not a UTF-8 JSONL file ({error}).") from error
    if not rows:
        raise InputError(f"{path}: no rows.")
    return rows


def _choose(path: Path, chosen: str | None, what: str, key: str, names: list) -> str:
    if chosen is not None:
        if chosen not in names:
            raise InputError(f"{path}: no {what} {chosen!r} in the file; it has "
                             f"{', '.join(map(str, names))}.")  # fmt: skip
        return chosen
    if len(names) > 1:
        raise InputError(f"{path}: the file has rows for several {what}s "
                         f"({', '.join(map(str, names))}); choose one with {key}.")  # fmt: skip
    return names[0]


def _holds(doc: Any, text: str) -> bool:
    """Does the logged doc hold the benchmark item's text (normalised, as a substring of its
    string values joined, or the other way round for a doc whose longest string is a part)?"""
    values = [v for v in (doc.values() if isinstance(doc, dict) else [doc]) if isinstance(v, str)]
    joined, item = normalize(" ".join(values)), normalize(text)
    longest = normalize(max(values, key=len)) if values else ""
    return bool(item) and (item in joined or (len(longest) >= 20 and longest in item))


def _aggregate(path: Path, metric: str, filter_name: str) -> tuple[float, str] | None:
    """The run's aggregate for this task, metric and filter from a results_*.json beside the
    samples file, and that file's name (None when there is none)."""
    task = path.name.removeprefix("samples_").rsplit("_", 1)[0]
    for results in sorted(path.parent.glob("results_*.json")):
        try:
            value = json.loads(results.read_text())["results"][task][f"{metric},{filter_name}"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if isinstance(value, int | float):
            return float(value), results.name
    return None


def read_samples(
    path: Path, bench: Corpus, *, filter_name: str | None = None, metric: str | None = None
) -> tuple[float, list[dict[str, Any]], str]:
    """The candidate's accuracy, per-item results (index, prediction, gold, correct) in
    benchmark order, and how they were read, from an lm_eval samples file."""
    rows = _rows(path)
    filters = sorted({str(row.get("filter", "none")) for _, row in rows})
    filter_name = _choose(path, filter_name, "filter", "--filter", filters)
    rows = [(n, row) for n, row in rows if str(row.get("filter", "none")) == filter_name]
    named = [m for m in METRICS if m in rows[0][1].get("metrics", rows[0][1])]
    if metric is None and not named:
        raise InputError(f"{path}: no per-sample {', '.join(METRICS)} in the rows; name the "
                         "metric key with --samples-metric.")  # fmt: skip
    metric = metric or named[0]
    texts, by_index = bench.texts, {}
    for number, row in rows:
        where = f"{path}, line {number}"
        index = row["doc_id"]
        if not isinstance(index, int) or not 0 <= index < len(bench):
            raise InputError(f"{where}: doc_id {index!r} is not an item of {bench.source} "
                             f"({len(bench)} items): a log of another benchmark or "
                             "split.")  # fmt: skip
        if index in by_index:
            raise InputError(f"{where}: doc_id {index} appears twice for filter {filter_name!r}.")
        value = row.get(metric)
        if isinstance(value, bool) or not isinstance(value, int | float) or value not in (0, 1):
            raise InputError(f"{where}: {metric} is {value!r}, not 0 or 1 per sample; pass "
                             "--samples-metric with a per-sample correctness key.")  # fmt: skip
        doc = row.get("doc")
        if "doc_hash" in row and doc is not None:
            logged = json.dumps(doc, indent=2, ensure_ascii=False)
            if hashlib.sha256(logged.encode("utf-8")).hexdigest() != row["doc_hash"]:
                raise InputError(f"{where}: doc_hash does not match the logged doc: the file "
                                 "was edited or damaged (or the doc held values that JSON does "
                                 "not give back as they were).")  # fmt: skip
        if doc is not None and not _holds(doc, texts[index]):
            raise InputError(f"{where}: doc_id {index}'s doc does not hold benchmark item "
                             f"{index} of {bench.source}: the log is of another split, subset "
                             "or order.")  # fmt: skip
        response = row.get("filtered_resps") or [None]
        by_index[index] = {"index": index, "prediction": str(response[0])[:200],
                           "gold": row.get("target"), "correct": bool(value)}  # fmt: skip
    if len(by_index) != len(bench):
        missing = next(i for i in range(len(bench)) if i not in by_index)
        raise InputError(f"{path}: {len(by_index)} docs for filter {filter_name!r}, but "
                         f"{bench.source} has {len(bench)} items (doc {missing} is missing): "
                         "log the whole benchmark (no --limit).")  # fmt: skip
    items = [by_index[i] for i in range(len(bench))]
    accuracy = sum(item["correct"] for item in items) / len(items)
    how = (f"scored from lm-evaluation-harness samples {path.name} (filter {filter_name}, "
           f"metric {metric}, {len(items)} docs")  # fmt: skip
    aggregate = _aggregate(path, metric, filter_name)
    if aggregate is not None:
        value, results = aggregate
        if not math.isclose(value, accuracy, abs_tol=TOLERANCE):
            raise InputError(f"{path}: the samples' mean {metric} is {accuracy:.6f} but "
                             f"{results} reports {value:.6f}: the files are of different "
                             "runs.")  # fmt: skip
        how += f"; mean matches {results}"
    return accuracy, items, how + ")"
