"""A small generic registry: one per kind of extension (benchmarks, judge templates, ...).

It refuses duplicate names and, on a miss, suggests the closest registered names, so a typo
such as ``mmlu_prp`` fails with a line that names ``mmlu-pro``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
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
    """Named items of one kind, in registration order."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
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
        hint = f"did you mean {', '.join(close)}?" if close else "run `sosbench list` to see them"
        return f"unknown {self.kind} {name!r}: {hint}"

    def names(self) -> list[str]:
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[T]:
        return iter(self._items.values())

    def __len__(self) -> int:
        return len(self._items)
