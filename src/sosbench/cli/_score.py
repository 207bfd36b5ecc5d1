"""`sosbench score`: factor scores with confidence intervals from run folders and results files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sosbench._defaults import BOOTSTRAP_ROUNDS
from sosbench.cli._common import OutputFormat, check_format, console_err, plural, wide_enough
from sosbench.errors import SosbenchError

if TYPE_CHECKING:
    from sosbench.scoring import ScoreReport

AllowPartial = Annotated[
    bool,
    typer.Option(
        "--allow-partial/--no-allow-partial",
        help="Average a factor over the benchmarks present even if some are missing (said in every output).",
        envvar="SOSBENCH_ALLOW_PARTIAL",
    ),
]
Normalize = Annotated[
    str,
    typer.Option(
        "--normalize",
        help="none (scores on 0-1 as measured) or baseline (Open LLM Leaderboard v2 random-baseline rule).",
        envvar="SOSBENCH_NORMALIZE",
    ),
]
Bootstrap = Annotated[
    int,
    typer.Option(
        "--bootstrap",
        help="Bootstrap rounds over items (0 = analytic CIs only).",
        envvar="SOSBENCH_BOOTSTRAP",
    ),
]
Seed = Annotated[int, typer.Option("--seed", help="Seed of the bootstrap.", envvar="SOSBENCH_SEED")]


def progress_callback():
    """A per-model progress line on stderr (bootstrap over many items can take a while)."""
    console = console_err()

    def on_model(i: int, total: int, name: str) -> None:
        console.print(f"[dim]scoring {i + 1}/{total}: {name}[/dim]")

    return on_model


def print_factor_table(report: ScoreReport, title: str) -> None:
    """Models x factors. Narrow terminals get the CI on a second line and model names wrapped, never cut."""
    from rich.console import Console
    from rich.table import Table

    from sosbench.scoring import FACTOR_NAMES, factor_cell

    console = Console()
    names = max((len(m.model) for m in report.models), default=5)
    one_line = wide_enough(console, names + len(FACTOR_NAMES) * 22 + 16)
    caption = f"0-100; {report.ci_note()}; * = partial factor (--allow-partial)"
    if any(m.limit is not None for m in report.models):
        caption += "; [N/task] = a --limit run of N items per task, not comparable with full runs"
    table = Table(title=title, caption=caption)
    table.add_column("model", overflow="fold", min_width=min(names, 16))
    for factor in FACTOR_NAMES:
        table.add_column(factor, justify="right", no_wrap=True)
    for model in report.models:
        cells = (factor_cell(model.factors[f]) for f in FACTOR_NAMES)
        name = model.model + (f" [{_per_task(model.limit)}]" if model.limit is not None else "")
        table.add_row(name, *(c if one_line else c.replace(" ", "\n", 1) for c in cells))
    console.print(table)


def _per_task(limit: float) -> str:
    """The short --limit mark of a table cell: '30/task', '10%/task'."""
    return f"{limit:.0%}/task" if isinstance(limit, float) and limit < 1 else f"{int(limit)}/task"


BENCH_CELL = 13  # "100.0 +- 10.0" plus padding


def print_benchmark_table(report: ScoreReport) -> None:
    """Benchmarks x models, in as many tables as the terminal needs to show every model's column whole."""
    from rich.console import Console
    from rich.table import Table

    from sosbench.suite import benchmarks

    console = Console()
    fixed = max(len(b.name) for b in benchmarks()) + len("factor") + 8
    per_table = max(1, (console.width - fixed) // (BENCH_CELL + 3))
    models = report.models
    for start in range(0, len(models), per_table):
        chunk = models[start : start + per_table]
        part = (
            f", models {start + 1}-{start + len(chunk)} of {len(models)}" if len(models) > per_table else ""
        )
        table = Table(title=f"Benchmarks (0-100, +- analytic stderr{part})")
        table.add_column("benchmark", no_wrap=True)
        table.add_column("factor", no_wrap=True)
        for model in chunk:
            table.add_column(model.model, justify="right", overflow="fold", min_width=BENCH_CELL)
        for bench in benchmarks():
            cells = []
            for model in chunk:
                b = model.benchmarks.get(bench.name)
                if b is None:
                    cells.append("-")
                else:
                    se = f" +- {b.stderr * 100:.1f}" if b.stderr is not None else ""
                    cells.append(f"{b.score * 100:.1f}{se}")
            table.add_row(bench.name, bench.factor, *cells)
        console.print(table)


def score(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Run folders (or the parent folder of `sosbench run --models`), lm-eval results JSON, "
            "LiveBench score files or CSVs.",
            metavar="PATH...",
        ),
    ],
    format: OutputFormat = "table",
    allow_partial: AllowPartial = False,
    normalize: Normalize = "none",
    bootstrap: Bootstrap = BOOTSTRAP_ROUNDS,
    seed: Seed = 0,
    export: Annotated[
        Path | None,
        typer.Option(
            "--export",
            help="Also write the artifact layouts here: sos_results.csv (like eleuther_wandb.csv), "
            "livebench_groups.csv, livebench_tasks.csv.",
            envvar="SOSBENCH_EXPORT",
        ),
    ] = None,
) -> None:
    """Score models into benchmark, factor (WK, IF, Safety) and Overall scores with 95% CIs.

    Example: `sosbench score runs/llama3-sft runs/llama3-dpo --format json`
    """
    check_format(format)
    if bootstrap < 0:
        raise SosbenchError(f"--bootstrap must be 0 or more, not {bootstrap}")
    from sosbench.results import (
        check_generations,
        flag_lines,
        read_paths,
        write_livebench_csvs,
        write_wide_csv,
    )
    from sosbench.scoring import score_models, to_csv

    models = read_paths(paths)
    report = score_models(
        models,
        allow_partial=allow_partial,
        normalize=normalize,
        bootstrap=bootstrap,
        seed=seed,
        on_model=progress_callback() if len(models) > 1 else None,
    )
    err = console_err()
    for note in report.notes:
        err.print(f"note: {note}")
    checks = [check for model in models for check in check_generations(model)]
    for line in flag_lines(checks):
        err.print(f"warning: {line}")
    if format == "json":
        generations = {m.model: [c.to_json() for c in checks if c.model == m.model] for m in models}
        typer.echo(json.dumps({**report.to_json(), "generation_checks": generations}, indent=2))
    elif format == "csv":
        typer.echo(to_csv(report), nl=False)
    else:
        print_factor_table(report, f"SOS-Bench scores ({plural(len(report.models), 'model')})")
        print_benchmark_table(report)
    if export is not None:
        written = [write_wide_csv(models, export / "sos_results.csv"), *write_livebench_csvs(models, export)]
        err.print("wrote " + ", ".join(str(p) for p in written))


def register(app: typer.Typer) -> None:
    """Add `sosbench score` to the root app."""
    app.command("score")(score)
