"""Files the code reads at run time must ship in the wheel, not only sit in the source tree."""

import tomllib
from fnmatch import fnmatch
from pathlib import Path

import auditor
from auditor.gate import DEFAULT_POLICY
from auditor.schema import SCHEMA_PATH

ROOT = Path(__file__).resolve().parent.parent


def test_runtime_files_are_package_data() -> None:
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["auditor"]
    package = Path(auditor.__file__).resolve().parent
    for path in (DEFAULT_POLICY, SCHEMA_PATH):
        assert path.is_file()
        inside = path.relative_to(package).as_posix()  # raises if outside the package
        assert any(fnmatch(inside, pattern) for pattern in package_data), inside
