"""`sosbench list`: the benchmarks of the suite."""

from __future__ import annotations

import json

import typer

from sosbench.cli._common import Benchmarks, Factor, OutputFormat
from sosbench.errors import SosbenchError


def list_benchmarks(benchmarks: Benchmarks = None, factor: Factor = None, format: OutputFormat = "table") -> None:
    """List the SOS-Bench benchmarks with their factor, engine, dataset, size and metric.

    Examples: `sosbench list`, `sosbench list --factor Safety --format json`.
    """
    from sosbench.suite import select

    chosen = select(benchmarks, factor)
    if format == "json":
        typer.echo(json.dumps([b.summary() for b in chosen], indent=2))
        return
    if format != "table":
        raise SosbenchError(f"unknown --format {format!r}: use table or json")
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"SOS-Bench: {len(chosen)} benchmarks", box=box.SIMPLE_HEAD)
    for col in ("name", "factor", "engine", "dataset", "size", "metric"):
        # Names are what users type, so they never wrap; the free-text metric takes what is left.
        table.add_column(col, justify="right" if col == "size" else "left", no_wrap=col in ("name", "size"))
    for b in chosen:
        s = b.summary()
        table.add_row(s["name"], s["factor"], s["engine"], s["dataset"], f"{s['size']:,}", s["metric"])
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.command("list")(list_benchmarks)
