"""Options shared by several commands, declared once.

Every option also reads an environment variable, so cluster job scripts can set them once:
``SOSBENCH_<OPTION>`` when the option means the same (same type, same values) in every command that has
it, else with the command's name in it (``SOSBENCH_LIVEBENCH_FORMAT``); tests/test_cli.py checks both rules
over every command.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sosbench.errors import SosbenchError

if TYPE_CHECKING:
    from rich.console import Console

Benchmarks = Annotated[
    str | None,
    typer.Option(
        "--benchmarks",
        "-b",
        help="Comma-separated benchmark names (see `sosbench list`).",
        envvar="SOSBENCH_BENCHMARKS",
    ),
]
Factor = Annotated[
    str | None,
    typer.Option(
        "--factor", "-f", help="Only benchmarks of this factor: WK, IF or Safety.", envvar="SOSBENCH_FACTOR"
    ),
]
DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Offline dataset mirror made by `sosbench data pull`; tasks read only from it.",
        envvar="SOSBENCH_DATA_DIR",
    ),
]
FORMATS = ("table", "json", "csv")
OutputFormat = Annotated[
    str,
    typer.Option("--format", help="Output format: table, json or csv.", envvar="SOSBENCH_FORMAT"),
]
"""Every command reading SOSBENCH_FORMAT accepts the same three values, so one setting suits all of them."""


def check_format(value: str, allowed: tuple[str, ...] = FORMATS) -> str:
    if value not in allowed:
        raise SosbenchError(f"unknown --format {value!r}: use {', '.join(allowed)}")
    return value


def wide_enough(console: Console, width: int) -> bool:
    """Whether the one-line-per-row layout of a table fits; narrower terminals get a compact layout."""
    return console.width >= width


def console_err() -> Console:
    """A rich console on stderr, so stdout stays clean for JSON and tables; a line is never wrapped, so a
    note or an error stays one line that scripts can grep."""
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True)
