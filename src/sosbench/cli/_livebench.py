"""`sosbench livebench score`: score LiveBench model_answer files with the native 2024 scorers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from sosbench._io import write_jsonl_atomic, write_text_atomic
from sosbench.cli._common import check_format, console_err
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
        help="A model_answer JSONL file or a folder of them "
        "(LiveBench format: question_id, model_id, choices).",
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
        help="Also write livebench_tasks.csv and livebench_groups.csv "
        "(the SOS artifact layout) into this folder.",
        envvar="SOSBENCH_LIVEBENCH_CSV_DIR",
    ),
]
Protocol = Annotated[
    str,
    typer.Option(
        "--protocol",
        help="paper (LiveBench 2024-07-24 scorers, defects included) "
        "or corrected (documented defects fixed).",
        envvar="SOSBENCH_PROTOCOL",
    ),
]
Sandbox = Annotated[
    str,
    typer.Option(
        "--sandbox",
        help="Where coding answers run: bwrap (bubblewrap isolation) "
        "or none (unsafe opt-out; flagged in every output).",
        envvar="SOSBENCH_SANDBOX",
    ),
]
SandboxMemory = Annotated[
    str | None,
    typer.Option(
        "--sandbox-memory",
        help="Memory of each coding sandbox, all its processes together (e.g. 2G, 512M; default 2G).",
        envvar="SOSBENCH_SANDBOX_MEMORY",
    ),
]
SandboxProcesses = Annotated[
    int | None,
    typer.Option(
        "--sandbox-processes",
        help="Processes and threads each coding sandbox may run at once (default: 64 with a cgroup per "
        "sandbox, 2 without one).",
        envvar="SOSBENCH_SANDBOX_PROCESSES",
    ),
]
Workers = Annotated[
    int | None,
    typer.Option("--workers", help="Scoring processes (default: one per core).", envvar="SOSBENCH_WORKERS"),
]
Format = Annotated[
    str,
    typer.Option("--format", help="Output format: table or json.", envvar="SOSBENCH_LIVEBENCH_FORMAT"),
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
    format: Format = "table",
    sandbox: Sandbox = "bwrap",
    sandbox_memory: SandboxMemory = None,
    sandbox_processes: SandboxProcesses = None,
) -> None:
    """Score existing answers; print task, category and average tables.

    Example: `sosbench livebench score --questions live_bench/ --answers model_answer/ --output scores.jsonl`.
    Task = mean x 100, category = mean of its tasks, average = mean of the six categories.
    """
    check_format(format, ("table", "json"))
    from sosbench.sandbox import SandboxLimits, SandboxMode

    SandboxMode.of(sandbox)
    limits = SandboxLimits.from_options(sandbox_memory, sandbox_processes)
    from rich.progress import Progress

    from sosbench import livebench

    problems: list[str] = []
    chosen = livebench.load_questions(questions, release=release, problems=problems)
    given = livebench.read_model_answers(Path(answers))
    for note in [
        *_first(problems, "question rows skipped"),
        left_out_note(given, chosen, questions, release),
    ]:
        if note:
            console_err().print(note, markup=False, highlight=False)
    with Progress(console=console_err(), transient=True) as progress:
        bar = progress.add_task("scoring LiveBench answers", total=None)
        rows = livebench.score_rows(
            chosen,
            given,
            protocol=protocol,
            workers=workers,
            progress=lambda n: progress.advance(bar, n),
            sandbox=sandbox,
            limits=limits,
        )
    failed = [row for row in rows if "error" in row]
    if failed:
        console_err().print(
            f"warning: scoring failed for {len(failed)} answer(s), scored 0 (the reason is in each row's "
            f"error field; first: {failed[0]['question_id']}: {failed[0]['error']})",
            markup=False,
            highlight=False,
        )
    if any(row.get("sandbox") == "none" for row in rows):
        console_err().print(
            "warning: coding answers ran with --sandbox none (unsandboxed); their rows say so"
        )
    per_model = livebench.task_scores(rows)
    written = _write_outputs(rows, per_model, output, csv_dir)
    if format == "json":
        typer.echo(json.dumps(_summary(per_model), indent=2))
    else:
        _print_tables(per_model)
    for path in written:
        console_err().print(f"wrote {path}")


def _first(problems: list[str], what: str, shown: int = 5) -> list[str]:
    """Up to ``shown`` problem lines, then one that counts the rest."""
    lines = [f"warning: {problem}" for problem in problems[:shown]]
    if len(problems) > shown:
        lines.append(f"warning: {len(problems) - shown} more {what}")
    return lines


LATEST = "9999-12-31"  # a release date after every release: all questions not yet removed


def left_out_note(
    answers: list[dict[str, Any]], chosen: list[dict[str, Any]], source: str, release: str
) -> str:
    """One line saying how many answers are not scored and why (empty when every answer is scored)."""
    from sosbench import livebench

    ids = {q["question_id"] for q in chosen}
    outside = [a["question_id"] for a in answers if a["question_id"] not in ids]
    if not outside:
        return ""
    try:
        newer = {
            q["question_id"] for q in livebench.load_questions(source, release=LATEST, problems=[])
        } - ids
    except SosbenchError:
        newer = set()
    later = sum(qid in newer for qid in outside)
    reasons = []
    if later:
        reasons.append(f"{later} answer questions released after {release} (pass --release to score them)")
    if len(outside) - later:
        reasons.append(
            f"{len(outside) - later} answer no question of release {release} in --questions "
            "(removed before it, or another question set)"
        )
    return f"note: {len(outside)} of {len(answers)} answers left out: " + "; ".join(reasons)


def _write_outputs(
    rows: list[dict[str, Any]],
    per_model: dict[str, dict[str, float]],
    output: Path | None,
    csv_dir: Path | None,
) -> list[Path]:
    from sosbench import livebench

    written = []
    if output is not None:
        write_jsonl_atomic(output, rows)
        written.append(output)
    if csv_dir is not None:
        for name, text in (
            ("livebench_tasks.csv", livebench.tasks_csv(per_model)),
            ("livebench_groups.csv", livebench.groups_csv(per_model)),
        ):
            write_text_atomic(csv_dir / name, text)
            written.append(csv_dir / name)
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
        tasks.add_row(
            task,
            livebench.category_of(task),
            *(f"{per_model[m][task]:.3f}" if task in per_model[m] else "-" for m in models),
        )
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
