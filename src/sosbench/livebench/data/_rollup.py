"""LiveBench roll-up: task = mean x 100, category = mean of its tasks, average = mean of categories.

Also the artifact CSV layouts (livebench_tasks.csv / livebench_groups.csv: one row per model,
tasks and categories in alphabetical order, rounded to 3 and 1 decimals for display).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from sosbench.livebench.data._release import CATEGORIES, category_of


def task_scores(rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """model -> task -> mean score x 100 (rows without a model id count as model "model")."""
    values: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        values[str(row.get("model_id") or "model")][row["task"]].append(float(row["score"]))
    return {
        model: {task: 100.0 * sum(v) / len(v) for task, v in sorted(tasks.items())}
        for model, tasks in values.items()
    }


def category_scores(tasks: Mapping[str, float]) -> dict[str, float]:
    """Category -> unweighted mean of its tasks' scores, for categories whose every task is scored."""
    complete = {
        category: [tasks[name] for name in names]
        for category, names in CATEGORIES.items()
        if all(name in tasks for name in names)
    }
    return {category: sum(scores) / len(scores) for category, scores in complete.items()}


def average_score(categories: Mapping[str, float]) -> float | None:
    """Mean of the six category scores; None unless all six are present (as LiveBench reports)."""
    if set(categories) != set(CATEGORIES):
        return None
    return sum(categories.values()) / len(categories)


def _number(value: float, digits: int) -> str:
    text = f"{round(value, digits):.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def tasks_csv(per_model: Mapping[str, Mapping[str, float]]) -> str:
    """The livebench_tasks.csv layout: model, then every scored task (alphabetical), 3 decimals."""
    columns = sorted({task for tasks in per_model.values() for task in tasks})
    for task in columns:
        category_of(task)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["model", *columns])
    for model, tasks in per_model.items():
        writer.writerow([model, *(_number(tasks[t], 3) if t in tasks else "" for t in columns)])
    return out.getvalue()


def groups_csv(per_model: Mapping[str, Mapping[str, float]]) -> str:
    """The livebench_groups.csv layout: model, average, the six categories (alphabetical), 1 decimal."""
    columns = sorted(CATEGORIES)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["model", "average", *columns])
    for model, tasks in per_model.items():
        categories = category_scores(tasks)
        average = average_score(categories)
        writer.writerow(
            [
                model,
                "" if average is None else _number(average, 1),
                *(_number(categories[c], 1) if c in categories else "" for c in columns),
            ]
        )
    return out.getvalue()
