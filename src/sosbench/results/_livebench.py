"""Reading LiveBench scores: per-question rows, or the artifact's category (groups) and task CSV layouts.

Category score = mean over its tasks of the task mean (LiveBench's own aggregation, protocol 2.1);
the tasks of each category come from the registry (``Benchmark.livebench``). Only the file formats
are shared with sosbench.livebench, not its code.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from sosbench._io import iter_lines, parse_json, read_text
from sosbench.errors import SosbenchError, from_validation
from sosbench.results._model import BenchmarkResult, Component, Items
from sosbench.results._schema import check_score, scoring_constants
from sosbench.suite import Benchmark, benchmarks, livebench_release


def livebench_benchmarks() -> dict[str, Benchmark]:
    """LiveBench category -> its registry benchmark."""
    return {b.livebench.category: b for b in benchmarks() if b.livebench is not None}


def task_questions() -> dict[str, int]:
    """Question count per LiveBench task of the 2024-06-24 release (for binomial stderrs of CSV scores)."""
    return dict(scoring_constants().livebench_task_questions)


class ScoreRow(BaseModel):
    """One per-question LiveBench score: sosbench's ``livebench_scores.jsonl`` or LiveBench's own
    ``ground_truth_judgment.jsonl`` (which adds ``turn`` and ``tstamp``)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    question_id: str | int
    task: str
    score: float
    category: str | None = None
    model: str | None = None
    model_id: str | None = None
    sandbox: str | None = None
    sandbox_budget: str | None = None  # coding rows: how the sandbox's budget held (cgroup or rlimit)
    error: str | None = None  # why scoring this answer failed (it then scores 0)
    turn: int | None = None
    tstamp: float | None = None


def _binomial_stderr(p: float, n: int | None) -> float | None:
    if n is None or n <= 0:
        return None
    return math.sqrt(max(p * (1.0 - p), 0.0) / n)


def _category_result(bench: Benchmark, tasks: dict[str, Component], source: str) -> BenchmarkResult | None:
    wanted = bench.livebench.tasks  # type: ignore[union-attr]
    if not all(t in tasks for t in wanted):
        return None
    return BenchmarkResult(bench.name, tuple(tasks[t] for t in wanted), source)


def _rows(path: Path) -> list[ScoreRow]:
    """JSONL rows (or a JSON list of rows) of a per-question score file, each validated."""
    what, fix = "LiveBench score file", "re-export the file"
    lines = ((n, line) for n, line, _ in iter_lines(path, what) if line.strip())
    first = next(lines, (0, ""))
    if first[1].lstrip().startswith("["):  # one JSON list of rows
        lines.close()
        raw = parse_json(read_text(path, what), str(path), fix)
        numbered = list(enumerate(raw, 1)) if isinstance(raw, list) else [(1, raw)]
    else:
        numbered = [
            (n, parse_json(line, str(path), fix, n)) for n, line in itertools.chain([first], lines) if n
        ]
    rows = []
    for number, row in numbered:
        if not isinstance(row, dict) or "task" not in row or "score" not in row:
            raise SosbenchError(
                f"{path}: row {number} has no task/score: expected LiveBench per-question scores"
            )
        try:
            rows.append(ScoreRow.model_validate(row))
        except ValidationError as exc:
            raise from_validation(
                exc, f"{path}: row {number}", "expected LiveBench per-question scores"
            ) from None
    return rows


def read_livebench_scores(path: Path, model: str | None = None) -> dict[str, dict[str, BenchmarkResult]]:
    """Model -> {benchmark: result} from per-question rows {question_id, task, [category], score, [model]}.

    ``model`` names the rows that carry no model (a run folder's file); rows from tasks outside the
    registry's categories are ignored, but a file with none of them is an error. A category missing
    one of its tasks is left out (its score would not be comparable).
    """
    categories = livebench_release().task_category
    scores: dict[str, dict[str, list[ScoreRow]]] = defaultdict(lambda: defaultdict(list))
    for lineno, row in enumerate(_rows(path), 1):
        if row.task not in categories:
            continue
        name = model or row.model or row.model_id or path.stem
        if not 0.0 <= row.score <= 1.0:  # also refuses NaN and infinities
            raise SosbenchError(f"{path}: row {lineno} score {row.score!r} is not a number in [0, 1]")
        scores[str(name)][row.task].append(row)
    if not scores:
        raise SosbenchError(
            f"{path}: no row belongs to a LiveBench task of the suite ({', '.join(sorted(categories))}): "
            "is this a LiveBench score file?"
        )
    out: dict[str, dict[str, BenchmarkResult]] = {}
    for name, by_task in scores.items():
        components = {}
        for task, task_rows in by_task.items():
            arr = np.asarray([r.score for r in task_rows])
            stderr = float(arr.std(ddof=1) / math.sqrt(len(arr))) if len(arr) > 1 else None
            items = Items(arr, ids=tuple(str(r.question_id) for r in task_rows))
            components[task] = Component(task, task, float(arr.mean()), stderr, len(arr), items, task)
        results = (_category_result(b, components, str(path)) for b in livebench_benchmarks().values())
        out[name] = {r.name: r for r in results if r is not None}
    return out


def read_csv_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    text = read_text(path, "CSV file")
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        rows = list(reader)
    except csv.Error as exc:
        raise SosbenchError(f"{path}: malformed CSV ({exc}): re-export the file") from None
    header = list(reader.fieldnames or [])
    for number, row in enumerate(rows, 2):
        if None in row or None in row.values():  # more or fewer cells than the header: a cut or mixed file
            cells = sum(v is not None for k, v in row.items() if k is not None) + len(row.get(None) or [])
            raise SosbenchError(
                f"{path}:{number}: {cells} cells, but the header has {len(header)}: "
                "the file is cut short or mixed; "
                "re-export it"
            )
    if header and not rows:
        raise SosbenchError(f"{path}: a header and no rows: the file is cut short or empty; re-export it")
    return header, rows


def csv_layout(header: list[str]) -> str | None:
    """'groups', 'tasks' or None: which LiveBench artifact layout a CSV header has."""
    if not header or header[0] != "model":
        return None
    if "average" in header and set(header[2:]) <= set(livebench_benchmarks()):
        return "groups"
    if set(header[1:]) <= set(livebench_release().task_category) and len(header) > 1:
        return "tasks"
    return None


def _cell(value: str | None, path: Path, model: str, column: str) -> float | None:
    if value is None or value.strip() == "":
        return None
    try:
        number = float(value) / 100.0
    except ValueError:
        raise SosbenchError(f"{path}: {model}/{column} is {value!r}, not a number") from None
    return check_score(number, str(path), f"{model}/{column} / 100")


def read_livebench_csv(path: Path) -> dict[str, dict[str, BenchmarkResult]]:
    """Model -> {benchmark: result} from a livebench_groups.csv or livebench_tasks.csv layout (0-100)."""
    header, rows = read_csv_rows(path)
    layout = csv_layout(header)
    if layout is None:
        raise SosbenchError(
            f"{path}: not a LiveBench groups/tasks CSV (header must be `model,average,<categories>` "
            "or `model,<tasks>`)"
        )
    sizes = task_questions()
    by_cat = livebench_benchmarks()
    out: dict[str, dict[str, BenchmarkResult]] = {}
    for row in rows:
        model = row["model"]
        results: dict[str, BenchmarkResult] = {}
        if layout == "groups":
            for cat, bench in by_cat.items():
                value = _cell(row.get(cat), path, model, cat)
                if value is None:
                    continue
                n = sum(sizes.get(t, 0) for t in bench.livebench.tasks) or None  # type: ignore[union-attr, misc]
                comp = Component(cat, cat, value, _binomial_stderr(value, n), n, None, cat)
                results[bench.name] = BenchmarkResult(bench.name, (comp,), str(path))
        else:
            comps = {}
            for task in header[1:]:
                value = _cell(row.get(task), path, model, task)
                if value is not None:
                    n = sizes.get(task)
                    comps[task] = Component(task, task, value, _binomial_stderr(value, n), n, None, task)
            for bench in by_cat.values():
                result = _category_result(bench, comps, str(path))
                if result is not None:
                    results[bench.name] = result
        out[model] = results
    return out
