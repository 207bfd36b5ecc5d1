"""Options shared by several commands, declared once.

Every option also reads an environment variable, so cluster job scripts can set them once:
``SOSBENCH_<OPTION>`` when the option means the same (same type, same values) in every command that has
it, else with the command's name in it (``SOSBENCH_LIVEBENCH_FORMAT``); tests/cli/test_cli.py checks both
rules over every command.
"""

from __future__ import annotations

import math
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


LIMIT_HELP = "At most N items per task, or a fraction of them if below 1. For testing only."


def limit_count(limit: float | None, total: int) -> int | None:
    """How many of ``total`` items a ``--limit`` keeps (a fraction keeps at least one)."""
    from sosbench.run import check_limit  # the one reading of --limit, shared with `sosbench run`

    checked = check_limit(limit)
    if checked is None:
        return None
    if isinstance(checked, float):
        return max(1, math.ceil(checked * total))
    return checked


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``1 model``, ``2 models`` (``many`` for irregular plurals)."""
    return f"{count:,} {noun if count == 1 else many or noun + 's'}"


THREADS_HELP = (
    "CPU threads for torch (default auto: OMP_NUM_THREADS where set, else the cores the load average "
    "leaves idle, at least 1; on a shared machine more threads than idle cores make generation several "
    "times slower)."
)
Threads = Annotated[str, typer.Option("--threads", help=THREADS_HELP, envvar="SOSBENCH_THREADS")]


def set_threads(threads: str) -> int | None:
    """Apply ``--threads`` (``auto`` or N) to torch before a model loads; returns the count set.

    torch takes every core by default, and its threads spin waiting for each other: where other work
    already keeps the cores busy, 2 threads generated 5-8x slower than 1 on a shared 2-core machine.
    ``auto`` keeps a user's OMP_NUM_THREADS: the load average changes from one command to the next, and a
    ``--dry-run --calibrate`` measured with other threads than its run predicts the wrong time.
    """
    import importlib.util
    import os

    stated = os.environ.get("OMP_NUM_THREADS", "")
    if threads == "auto" and stated.isdigit() and int(stated) > 0:
        threads = stated
    if threads == "auto":
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        busy = round(os.getloadavg()[0]) if hasattr(os, "getloadavg") else 0
        count = max(1, min(cores, cores - busy))
    else:
        try:
            count = int(threads)
        except ValueError:
            count = 0
        if count < 1:
            raise SosbenchError(f"--threads {threads!r}: give auto or a whole number of threads (1 or more)")
    if importlib.util.find_spec("torch") is None:
        return None
    import torch

    torch.set_num_threads(count)
    return count


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
