"""Options shared by several commands, declared once.

Every option also reads an environment variable (``SOSBENCH_<NAME>``), so cluster job scripts
can set them once.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

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
    typer.Option("--factor", "-f", help="Only benchmarks of this factor: WK, IF or Safety.", envvar="SOSBENCH_FACTOR"),
]
DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Offline dataset mirror made by `sosbench data pull`; tasks read only from it.",
        envvar="SOSBENCH_DATA_DIR",
    ),
]
OutputFormat = Annotated[
    str,
    typer.Option("--format", help="Output format: table or json.", envvar="SOSBENCH_FORMAT"),
]


def console_err() -> Console:
    """A rich console on stderr, so stdout stays clean for JSON and tables."""
    from rich.console import Console

    return Console(stderr=True)
