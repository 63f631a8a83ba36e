"""The JSON Schema of `audit run` reports, kept in the repository beside the code.

`python -m auditor.schema` rewrites `auditor/schemas/run_report.schema.json` from the pydantic
model; a test fails when the committed file and the model disagree, and validates real reports
against the file.
"""

import json
from pathlib import Path

from auditor.cache import atomic_write_text
from auditor.report import RunReport

SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "run_report.schema.json"


def run_report_schema() -> dict:
    schema = RunReport.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "audit run report"
    return schema


def write() -> None:
    atomic_write_text(SCHEMA_PATH, json.dumps(run_report_schema(), indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    write()
