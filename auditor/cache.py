"""The on-disk cache: where it lives and how files get there atomically.

Everything is written to a temporary file in the destination folder, flushed, fsynced and
renamed over the target (`os.replace` is atomic on POSIX and Windows), so a run killed mid-write
leaves either the old file or none, never a torn one that a later run would trust. Cached arrays
also carry a sha256 of their file, checked on every read, so a whole but wrong file (overwritten,
copied from elsewhere) is recomputed rather than trusted.
"""

import hashlib
import io
import os
import tempfile
from pathlib import Path

import numpy as np

ENV_VAR = "AUDIT_CACHE_DIR"


def default_cache_dir() -> Path:
    """$AUDIT_CACHE_DIR, else $XDG_CACHE_HOME/audit, else ~/.cache/audit."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "audit"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; reports are for sharing
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


CHECKSUM_SUFFIX = ".sha256"


def checksum_path(path: Path) -> Path:
    """Where the checksum of the cached array `path` lives: beside it, `NAME.npy.sha256`."""
    return path.with_name(path.name + CHECKSUM_SUFFIX)


def save_array(path: Path, array: np.ndarray) -> None:
    """Write the array, then its file's sha256 beside it, each atomically. The checksum comes
    second, so a run killed between the two leaves an array without one, which reads as absent."""
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    data = buffer.getvalue()
    atomic_write_bytes(path, data)
    atomic_write_text(checksum_path(path), hashlib.sha256(data).hexdigest() + "\n")


def load_array(path: Path) -> np.ndarray | None:
    """The cached array, or None (then it is recomputed) if absent, unreadable, without its
    checksum, or not the bytes the checksum names. A well-formed .npy of the right shape can
    still be wrong (zeros copied over it, a file from another run); only the checksum tells."""
    try:
        data = path.read_bytes()
        expected = checksum_path(path).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if hashlib.sha256(data).hexdigest() != expected:
        return None
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
