"""Test setup: offline hub, a private cache, and the real data beside the project."""

import os
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    os.environ["AUDIT_CACHE_DIR"] = str(tmp_path_factory.mktemp("audit-cache"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is not present")
    return SHARED_DATA


@pytest.fixture
def prefix_plugin(tmp_path: Path):
    """The example probe `tests/plugins/prefix_probe.py` installed as a plugin: a distribution
    on sys.path whose `audit.probes` entry point names it, exactly as `pip install` would."""
    import sys

    from probes import PROBES

    info = tmp_path / "audit_prefix_probe-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: audit-prefix-probe\nVersion: 0.1\n"
    )
    (info / "entry_points.txt").write_text(
        "[audit.probes]\nprefix = tests.plugins.prefix_probe:PrefixProbe\n"
    )
    sys.path.insert(0, str(tmp_path))
    PROBES._plugins_loaded = False
    try:
        yield "prefix"
    finally:
        sys.path.remove(str(tmp_path))
        PROBES._entries.pop("prefix", None)
