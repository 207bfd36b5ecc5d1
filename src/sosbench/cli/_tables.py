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
