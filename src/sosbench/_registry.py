"""One typed registry per kind of extension (benchmarks, LiveBench scorers, executors, judge templates...).

It sits below every layer (like ``errors`` and ``_io``) so each layer can keep its own ``Registry[T]``.
A registry refuses duplicate names and, on a miss, suggests the closest registered names, so a typo such
as ``mmlu_prp`` fails with a line that names ``mmlu-pro``. ``load_entry_points`` lets a plugin package
add items through an entry-point group without touching sosbench.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from importlib.metadata import EntryPoint, entry_points
from typing import Generic, TypeVar

from sosbench.errors import SosbenchError

T = TypeVar("T")


class UnknownNameError(SosbenchError):
    """A name that is not in a registry."""


def suggest(name: str, candidates: list[str], n: int = 3) -> list[str]:
    """Closest candidates to ``name``, compared case- and separator-insensitively."""

    def fold(s: str) -> str:
        return s.lower().replace("_", "-")

    folded = {fold(c): c for c in candidates}
    return [folded[m] for m in difflib.get_close_matches(fold(name), list(folded), n=n, cutoff=0.5)]


class Registry(Generic[T]):
    """Named items of one kind, in registration order.

    ``hint`` ends the one-line error for an unknown name (say where the names are listed).
    """

    def __init__(self, kind: str, hint: str = "run `sosbench list` to see them") -> None:
        self.kind = kind
        self.hint = hint
        self._items: dict[str, T] = {}

    def register(self, name: str, item: T) -> T:
        if name in self._items:
            raise SosbenchError(f"{self.kind} {name!r} is registered twice: rename one of them")
        self._items[name] = item
        return item

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise UnknownNameError(self.unknown_message(name)) from None

    def unknown_message(self, name: str) -> str:
        close = suggest(name, list(self._items))
        hint = f"did you mean {', '.join(close)}?" if close else self.hint
        return f"unknown {self.kind} {name!r}: {hint}"

    def names(self) -> list[str]:
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[T]:
        return iter(self._items.values())

    def __len__(self) -> int:
        return len(self._items)


def plugin_entry_points(group: str, skip: tuple[str, ...] = ()) -> list[EntryPoint]:
    """The installed entry points of ``group`` in name order (``skip``: names sosbench registers itself)."""
    found = {ep.name: ep for ep in entry_points(group=group) if ep.name not in skip}
    return [found[name] for name in sorted(found)]


def load_entry_points(registry: Registry[T], group: str, skip: tuple[str, ...] = ()) -> Registry[T]:
    """Register the object each plugin entry point of ``group`` names, under the entry point's name.

    A plugin that fails to import fails with one line naming the entry point and its package.
    """
    for ep in plugin_entry_points(group, skip):
        try:
            item = ep.load()
        except Exception as exc:  # noqa: BLE001 - any import error of a third-party plugin
            where = f" (package {ep.dist.name})" if ep.dist is not None else ""
            raise SosbenchError(
                f"entry point {group}:{ep.name}{where} failed to load ({type(exc).__name__}: {exc}); "
                "fix or uninstall the plugin"
            ) from None
        registry.register(ep.name, item)
    return registry
