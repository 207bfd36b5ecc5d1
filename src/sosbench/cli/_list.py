"""`sosbench list`: the benchmarks of the suite."""

from __future__ import annotations

import csv
import io
import json

import typer

from sosbench.cli._common import Benchmarks, Factor, OutputFormat, check_format, wide_enough

COLUMNS = ("name", "factor", "engine", "dataset", "size", "metric")
NARROW_COLUMNS = ("name", "factor", "size", "metric")
WIDE_LAYOUT = 150  # columns the six-column table needs without wrapping a cell


def list_benchmarks(
    benchmarks: Benchmarks = None, factor: Factor = None, format: OutputFormat = "table"
) -> None:
    """List the SOS-Bench benchmarks with their factor, engine, dataset, size and metric.

    Examples: `sosbench list`, `sosbench list --factor Safety --format json`.
    """
    check_format(format)
    from sosbench.suite import select

    rows = [b.summary() for b in select(benchmarks, factor)]
    if format == "json":
        typer.echo(json.dumps(rows, indent=2))
        return
    if format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows([row[c] for c in COLUMNS] for row in rows)
        typer.echo(buffer.getvalue(), nl=False)
        return
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console()
    wide = wide_enough(console, WIDE_LAYOUT)
    columns = COLUMNS if wide else NARROW_COLUMNS
    table = Table(
        title=f"SOS-Bench: {len(rows)} benchmarks",
        box=box.SIMPLE_HEAD,
        caption=None if wide else "engine and datasets: a wider terminal or --format json",
    )
    for col in columns:
        # Names are what users type, so they never wrap; the free-text metric takes what is left.
        table.add_column(col, justify="right" if col == "size" else "left", no_wrap=col != "metric")
    for row in rows:
        table.add_row(*(f"{row[c]:,}" if c == "size" else str(row[c]) for c in columns))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("list")(list_benchmarks)
