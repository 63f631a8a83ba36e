"""audit: how much of a model's benchmark score is real."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("audit")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"
