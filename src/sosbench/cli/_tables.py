"""Tables that fit the terminal: the widest layout that shows every cell whole, never a cut cell.

Rich cuts a cell ("liv…") when a table is wider than the console, and piped output is 80 columns wide.
A command builds its table in one or more layouts, widest first, and prints the first that fits; the
last layout must fit 80 columns by itself (wrap, abbreviate with a legend, or split into several tables).
tests/_tables.py renders a command at 80 columns and checks that no cell is cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console, RenderableType


def natural_width(console: Console, renderable: RenderableType) -> int:
    """Columns ``renderable`` takes with every cell on one line (rich's own measurement)."""
    from rich.measure import Measurement

    unbounded = console.options.update_width(1_000_000)  # rich clamps a measurement to the width given
    return Measurement.get(console, unbounded, renderable).maximum


def fits(console: Console, renderable: RenderableType) -> bool:
    return natural_width(console, renderable) <= console.width


def print_first_fitting(console: Console, layouts: Sequence[Sequence[RenderableType]]) -> int:
    """Print the first layout (a list of tables) whose every table fits the console, else the last one;
    return which was printed (its index), so a legend can follow the layout."""
    for index, layout in enumerate(layouts[:-1]):
        if all(fits(console, part) for part in layout):
            console.print(*layout)
            return index
    console.print(*layouts[-1])
    return len(layouts) - 1


def table_width(widths: Sequence[int]) -> int:
    """Columns a rich table with a box needs for cells this wide: a border and a space each side."""
    return 1 + sum(w + 3 for w in widths)


def column_groups(fixed: Sequence[int], widths: Sequence[int], total: int) -> list[list[int]]:
    """The indices of ``widths`` in consecutive groups, each fitting ``total`` columns beside ``fixed``.

    A table too wide for the terminal is split into several tables that repeat the ``fixed`` columns
    (a model's name) rather than cutting cells; one column wider than what is left gets a group alone.
    """
    groups: list[list[int]] = [[]]
    for index, width in enumerate(widths):
        if groups[-1] and table_width([*fixed, *(widths[i] for i in groups[-1]), width]) > total:
            groups.append([])
        groups[-1].append(index)
    return [g for g in groups if g]
