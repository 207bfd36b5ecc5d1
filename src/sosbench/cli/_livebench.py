"""`sosbench livebench score`: score LiveBench model_answer files with the native 2024 scorers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from sosbench.cli._common import OutputFormat, console_err
from sosbench.errors import SosbenchError

livebench_app = typer.Typer(
    name="livebench",
    help="LiveBench (2024-06-24 release, 17 tasks): score answers with LiveBench's ground-truth scorers.",
    no_args_is_help=True,
)

Questions = Annotated[
    str,
    typer.Option(
        "--questions",
        "-q",
        help="A question.jsonl file, a folder of them (searched recursively), a mirror folder or a hub id "
        "livebench/<category>.",
        envvar="SOSBENCH_LIVEBENCH_QUESTIONS",
    ),
]
Answers = Annotated[
    Path,
    typer.Option(
        "--answers",
        "-a",
        help="A model_answer JSONL file or a folder of them (LiveBench format: question_id, model_id, choices).",
        envvar="SOSBENCH_LIVEBENCH_ANSWERS",
    ),
]
Output = Annotated[
    Path | None,
    typer.Option(
        "--output", "-o", help="Write per-answer scores here (JSONL).", envvar="SOSBENCH_LIVEBENCH_OUTPUT"
    ),
]
CsvDir = Annotated[
    Path | None,
    typer.Option(
        "--csv-dir",
        help="Also write livebench_tasks.csv and livebench_groups.csv (the SOS artifact layout) into this folder.",
        envvar="SOSBENCH_LIVEBENCH_CSV_DIR",
    ),
]
Protocol = Annotated[
    str,
    typer.Option(
        "--protocol",
        help="paper (LiveBench 2024-07-24 scorers, defects included) or corrected (documented defects fixed).",
        envvar="SOSBENCH_PROTOCOL",
    ),
]
Sandbox = Annotated[
    str,
    typer.Option(
        "--sandbox",
        help="Where coding answers run: bwrap (bubblewrap isolation) or none (unsafe opt-out; flagged in every output).",
        envvar="SOSBENCH_SANDBOX",
    ),
]
Workers = Annotated[
    int | None,
    typer.Option(
        "--workers", "-j", help="Scoring processes (default: one per core).", envvar="SOSBENCH_WORKERS"
    ),
]
Release = Annotated[
    str,
    typer.Option(
        "--release", help="LiveBench release date to score (YYYY-MM-DD).", envvar="SOSBENCH_LIVEBENCH_RELEASE"
    ),
]


def score(
    questions: Questions,
    answers: Answers,
    output: Output = None,
    csv_dir: CsvDir = None,
    protocol: Protocol = "paper",
    workers: Workers = None,
    release: Release = "2024-06-24",
    format: OutputFormat = "table",
    sandbox: Sandbox = "bwrap",
) -> None:
    """Score existing answers; print task, category and average tables.

    Example: `sosbench livebench score --questions live_bench/ --answers model_answer/ --output scores.jsonl`.
    Task = mean x 100, category = mean of its tasks, average = mean of the six categories.
    """
    if format not in ("table", "json"):
        raise SosbenchError(f"unknown --format {format!r}: use table or json")
    if sandbox not in ("bwrap", "none"):
        raise SosbenchError(f"unknown --sandbox {sandbox!r}: use bwrap or none")
    from rich.progress import Progress

    from sosbench import livebench

    with Progress(console=console_err(), transient=True) as progress:
        bar = progress.add_task("scoring LiveBench answers", total=None)
        rows = livebench.score_answer_files(
            questions, answers, protocol=protocol, workers=workers, release=release,
            progress=lambda n: progress.advance(bar, n), sandbox="none" if sandbox == "none" else "bwrap",
        )  # fmt: skip
    if any(row.get("sandbox") == "none" for row in rows):
        console_err().print("warning: coding answers ran with --sandbox none (unsandboxed); their rows say so")
    per_model = livebench.task_scores(rows)
    written = _write_outputs(rows, per_model, output, csv_dir)
    if format == "json":
        typer.echo(json.dumps(_summary(per_model), indent=2))
    else:
        _print_tables(per_model)
    for path in written:
        console_err().print(f"wrote {path}")


def _write_outputs(rows: list[dict[str, Any]], per_model: dict[str, dict[str, float]], output: Path | None,
                   csv_dir: Path | None) -> list[Path]:  # fmt: skip
    from sosbench import livebench

    written = []
    if output is not None:
        livebench.write_jsonl_atomic(output, rows)
        written.append(output)
    if csv_dir is not None:
        csv_dir.mkdir(parents=True, exist_ok=True)
        for name, text in (("livebench_tasks.csv", livebench.tasks_csv(per_model)),
                           ("livebench_groups.csv", livebench.groups_csv(per_model))):  # fmt: skip
            path = csv_dir / name
            temporary = path.with_name(f".{name}.tmp")
            temporary.write_text(text, encoding="utf-8")
            temporary.replace(path)
            written.append(path)
    return written


def _summary(per_model: dict[str, dict[str, float]]) -> dict[str, Any]:
    from sosbench import livebench

    out = {}
    for model, tasks in per_model.items():
        categories = livebench.category_scores(tasks)
        out[model] = {
            "tasks": tasks,
            "categories": categories,
            "average": livebench.average_score(categories),
        }
    return out


def _print_tables(per_model: dict[str, dict[str, float]]) -> None:
    from rich.console import Console
    from rich.table import Table

    from sosbench import livebench

    console = Console()
    models = list(per_model)
    summary = _summary(per_model)
    tasks = Table(title="LiveBench tasks (mean x 100)")
    tasks.add_column("task")
    tasks.add_column("category")
    for model in models:
        tasks.add_column(model, justify="right")
    for task in sorted({t for scores in per_model.values() for t in scores}):
        tasks.add_row(task, livebench.category_of(task),
                      *(f"{per_model[m][task]:.3f}" if task in per_model[m] else "-" for m in models))  # fmt: skip
    console.print(tasks)
    groups = Table(title="LiveBench categories (mean of tasks) and average (mean of categories)")
    groups.add_column("category")
    for model in models:
        groups.add_column(model, justify="right")
    for category in livebench.CATEGORIES:
        groups.add_row(category, *(_cell(summary[m]["categories"].get(category)) for m in models))
    groups.add_row("average", *(_cell(summary[m]["average"]) for m in models))
    console.print(groups)


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def register(app: typer.Typer) -> None:
    """Add the `livebench` sub-app."""
    livebench_app.command("score")(score)
    app.add_typer(livebench_app, name="livebench")
