"""The paper's artifact layouts: the wide eleuther_wandb.csv (read and write) and the two LiveBench CSVs.

Columns come from the registry (``Benchmark.artifact``, ``Benchmark.livebench``). Writers replace the
file atomically (``sosbench._io``) so a crash never leaves half a table.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from sosbench._io import write_text_atomic
from sosbench.errors import SosbenchError
from sosbench.results._livebench import livebench_benchmarks, read_csv_rows
from sosbench.results._model import BenchmarkResult, Component, ModelResults
from sosbench.results._schema import check_score, check_stderr
from sosbench.suite import benchmarks

NAME = "Name"
STDERR = "_stderr"


def is_wide_header(header: list[str]) -> bool:
    return bool(header) and header[0] == NAME and any("/" in h for h in header)


def _float(text: str | None, path: Path, model: str, column: str) -> float | None:
    if text is None or text.strip() in ("", "N/A"):
        return None
    try:
        return float(text)
    except ValueError:
        raise SosbenchError(f"{path}: {model}/{column} is {text!r}, not a number") from None


def _backsolved_n(p: float, se: float | None) -> int | None:
    """Items behind a binomial stderr: n = p(1-p)/se^2 + 1 (lm-eval uses the sample stderr, ddof=1)."""
    if se is None or se <= 0:
        return None
    return round(p * (1.0 - p) / se**2 + 1)


def read_wide_csv(path: Path) -> dict[str, ModelResults]:
    """Model `Name` -> results from an eleuther_wandb.csv-style table (values in [0, 1])."""
    header, rows = read_csv_rows(path)
    if not is_wide_header(header):
        raise SosbenchError(
            f"{path}: not a wide results CSV (first column must be `Name`, then task/metric columns)"
        )
    columns = set(header)
    out: dict[str, ModelResults] = {}
    for row in rows:
        model = row[NAME]
        results = ModelResults(model, sources=[str(path)])
        for bench in benchmarks():
            if not bench.artifact or not all(c in columns for c in bench.artifact):
                continue
            components = []
            for column in bench.artifact:
                value = _float(row.get(column), path, model, column)
                if value is None:
                    break
                value = check_score(value, str(path), f"{model}/{column}")
                se = _float(row.get(column + STDERR), path, model, column + STDERR)
                se = check_stderr(se, str(path), f"{model}/{column}{STDERR}")
                task = column.split("/", 1)[0]
                components.append(Component(column, column, value, se, _backsolved_n(value, se), None, task))
            else:
                results.benchmarks[bench.name] = _with_shared_n(
                    BenchmarkResult(bench.name, tuple(components), str(path))
                )
        if model in out:
            raise SosbenchError(f"{path}: model {model!r} appears twice: keep one row per model")
        out[model] = results
    return out


def _with_shared_n(result: BenchmarkResult) -> BenchmarkResult:
    """Components measured on the same items (IFEval) share the n back-solved from the first stderr."""
    first: dict[str, int | None] = {}
    for c in result.components:
        if c.n is not None:
            first.setdefault(c.item_set, c.n)
    comps = tuple(
        Component(
            c.key,
            c.column,
            c.value,
            c.stderr,
            c.n if c.n is not None else first.get(c.item_set),
            c.items,
            c.item_set,
        )
        for c in result.components
    )
    return BenchmarkResult(result.name, comps, result.source)


def _write_atomic(path: Path, rows: list[list[object]]) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    write_text_atomic(path, buffer.getvalue())
    return path


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{round(value, 6):g}"


def write_wide_csv(models: list[ModelResults], path: Path) -> Path:
    """An eleuther_wandb.csv-style table: `Name`, then each artifact column and its `_stderr`."""
    benches = [b for b in benchmarks() if b.artifact and b.livebench is None]
    header: list[object] = [NAME]
    for bench in benches:
        for column in bench.artifact:
            header += [column, column + STDERR]
    rows: list[list[object]] = [header]
    for model in models:
        row: list[object] = [model.model]
        for bench in benches:
            by_column = _by_column(model.benchmarks.get(bench.name))
            for column in bench.artifact:
                comp = by_column.get(column)
                row += [
                    _fmt(comp.value) if comp else "",
                    _fmt(comp.stderr) if comp and comp.stderr is not None else "",
                ]
        rows.append(row)
    return _write_atomic(path, rows)


def _by_column(result: BenchmarkResult | None) -> dict[str, Component]:
    return {c.column: c for c in result.components} if result else {}


def write_livebench_csvs(models: list[ModelResults], folder: Path) -> tuple[Path, Path]:
    """livebench_groups.csv (model, average, categories) and livebench_tasks.csv (model, tasks), 0-100.

    The layouts and their rounding are LiveBench's own, written by the one writer `sosbench livebench
    score` uses too (``sosbench.livebench.groups_csv``/``tasks_csv``: categories 1 decimal, tasks 3).
    """
    from sosbench.livebench import groups_csv, tasks_csv

    cats = livebench_benchmarks()
    per_model: dict[str, dict[str, float]] = {}
    for model in models:
        tasks = {
            c.column: c.value * 100.0
            for bench in cats.values()
            if (result := model.benchmarks.get(bench.name)) is not None
            for c in result.components
        }
        if tasks:
            per_model[model.model] = tasks
    groups, task_rows = folder / "livebench_groups.csv", folder / "livebench_tasks.csv"
    write_text_atomic(groups, groups_csv(per_model))
    write_text_atomic(task_rows, tasks_csv(per_model))
    return groups, task_rows
