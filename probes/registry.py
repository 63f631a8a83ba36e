"""A name -> class registry with lazy entries, duplicate detection and did-you-mean.

Entries may be "module:attr" strings, so listing probe names imports nothing heavy (torch, faiss).
Third-party probes arrive through the `audit.probes` entry-point group and load exactly like the
built-ins, which register through the same `register` call.
"""

import difflib
import importlib
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from auditor.errors import InputError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str, entry_point_group: str | None = None) -> None:
        self.kind = kind
        self._entries: dict[str, T | str] = {}
        self._group = entry_point_group
        self._plugins_loaded = False

    def register(self, name: str, target: T | str | None = None) -> Callable[[T], T] | None:
        """Register `target` (an object or a lazy "module:attr") under `name`.

        Used bare as a decorator (`@registry.register("name")`) when `target` is omitted.
        """
        if target is not None:
            self._add(name, target)
            return None

        def decorate(obj: T) -> T:
            self._add(name, obj)
            return obj

        return decorate

    def _add(self, name: str, target: T | str) -> None:
        existing = self._entries.get(name)
        if existing is not None and existing is not target and not _same_lazy(existing, target):
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = target

    def names(self) -> list[str]:
        """Registered names in registration order: the built-ins as registered, then plugins."""
        self._load_plugins()
        return list(self._entries)

    def get(self, name: str) -> T:
        self._load_plugins()
        if name not in self._entries:
            close = difflib.get_close_matches(name, list(self._entries), n=3)
            hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            raise InputError(
                f"Unknown {self.kind} {name!r}.{hint} Known: {', '.join(self.names())}."
            )
        entry = self._entries[name]
        if isinstance(entry, str):
            module, _, attr = entry.partition(":")
            entry = getattr(importlib.import_module(module), attr)
            self._entries[name] = entry
        return entry

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def _load_plugins(self) -> None:
        if self._plugins_loaded or self._group is None:
            return
        self._plugins_loaded = True
        for point in entry_points(group=self._group):
            self._add(point.name, point.value)


def _same_lazy(existing: object, target: object) -> bool:
    """A lazy entry and the object it resolves to are the same registration."""
    if isinstance(existing, str) and not isinstance(target, str):
        return existing == f"{target.__module__}:{target.__qualname__}"
    return existing == target
