"""The parts that read reports, and the CLI's start, stay light: no torch, no transformers, no
datasets, no ray (a fast gate in CI, and `audit --help` in well under a second)."""

import subprocess
import sys

import pytest

LIGHT = ("auditor.report", "auditor.gate", "auditor.schema", "auditor.render",
         "auditor.render.terminal", "auditor.render.markdown", "auditor.render.html",
         "auditor.provenance", "auditor.cli")  # fmt: skip


@pytest.mark.parametrize("module", LIGHT)
def test_report_readers_import_no_torch(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        "heavy = sorted({'torch', 'transformers', 'datasets', 'ray'} & set(sys.modules))\n"
        "print(','.join(heavy))"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout.strip()  # fmt: skip
    assert found == "", f"importing {module} imports {found}"


def test_rendering_a_report_imports_no_torch() -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from auditor.render import render\n"
        "from auditor.report_io import read_report\n"
        "report = read_report(Path('tests/golden/run_report.json'))\n"
        "for fmt in ('table', 'markdown', 'json'):\n"
        "    render(report, fmt)\n"
        "print('torch' in sys.modules or 'transformers' in sys.modules)"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout.strip()  # fmt: skip
    assert found == "False"
