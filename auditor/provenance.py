"""Where a result came from: tool version, git hash, date and library versions.

Every report and every control result records this (lm-evaluation-harness's result schema does
the same), so two reports can be compared and a result reproduced. Library versions come from
package metadata, not imports, so recording them costs no torch import.
"""

import platform
import subprocess
from datetime import UTC, datetime
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from auditor import __version__

LIBRARIES = ("torch", "transformers", "datasets", "numpy", "scikit-learn")


@cache
def git_hash() -> str | None:
    """The source tree's commit, or None outside a git checkout."""
    try:
        found = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except OSError:
        return None
    return found.stdout.strip() or None


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def provenance() -> dict[str, Any]:
    """Tool version, git hash, date, Python and library versions."""
    return {
        "tool": "audit",
        "version": __version__,
        "git": git_hash(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        **{name: _version(name) for name in LIBRARIES},
    }
