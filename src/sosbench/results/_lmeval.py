"""Reading lm-eval output: a results JSON (ours or the paper's reference task names) and samples logs.

Which keys belong to which benchmark comes only from the registry (``Benchmark.result_keys`` for
our task names under either protocol, ``Benchmark.artifact`` for the reference names the paper's
files use), so a new benchmark in benchmarks.yaml is read without a change here.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from sosbench._io import read_json, read_text
from sosbench.errors import SosbenchError
from sosbench.results._model import BenchmarkResult, Component, Items
from sosbench.results._schema import check_score, check_stderr
from sosbench.rundir import samples_name, task_of_samples
from sosbench.suite import PROTOCOLS, Benchmark

_TIMESTAMP = re.compile(r"_\d{4}-\d{2}-\d{2}T[\d\-.:]+$")


def load_json(path: Path) -> Any:
    """Parse a JSON file; a missing, unreadable, binary or malformed file is a one-line error naming it."""
    return read_json(path)


def key_sets(bench: Benchmark) -> list[tuple[str, ...]]:
    """Every way a results JSON may name this benchmark's keys: our tasks (both protocols), then the
    paper's."""
    options: list[tuple[str, ...]] = []
    for keys in [*(bench.result_keys(p) for p in PROTOCOLS), bench.artifact]:
        if keys and keys not in options:
            options.append(keys)
    return options


def _metric_entry(sections: list[dict[str, Any]], key: str) -> tuple[Any, Any] | None:
    """(value, stderr) of ``task/metric`` in lm-eval's "results"/"groups" dicts, filter "none" implied."""
    task, metric = key.split("/", 1)
    for section in sections:
        entry = section.get(task)
        if isinstance(entry, dict) and f"{metric},none" in entry:
            return entry[f"{metric},none"], entry.get(f"{metric}_stderr,none")
    return None


def _number(value: Any, where: str, what: str) -> float | None:
    """A metric value as lm-eval writes it: a number, or "N/A"/null for a stderr it did not compute."""
    if value is None or value == "N/A":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(float(value)):
        raise SosbenchError(f"{where}: {what} is {value!r}, not a number: is this an lm-eval results file?")
    return float(value)


def _score(value: Any, where: str, key: str) -> float:
    number = _number(value, where, key)
    if number is None:
        raise SosbenchError(f"{where}: {key} is {value!r}, not a score: re-run the benchmark")
    return check_score(number, where, key)


def _stderr(value: Any, where: str, key: str) -> float | None:
    return check_stderr(_number(value, where, f"{key} stderr"), where, f"{key} stderr")


def check_aggregates(bench: Benchmark, data: dict[str, Any], protocol: str, where: str) -> None:
    """Refuse a results file whose aggregate of ``bench`` is out of range, even where items are used."""
    sections = [data.get("results") or {}, data.get("groups") or {}]
    for key in bench.result_keys(protocol):
        found = _metric_entry(sections, key)
        if found is not None:
            _score(found[0], where, key)
            _stderr(found[1], where, key)


def _n_samples(data: dict[str, Any], tasks: Iterable[str]) -> int | None:
    counts = data.get("n-samples") or {}
    total = 0
    for task in tasks:
        entry = counts.get(task)
        if not isinstance(entry, dict) or "effective" not in entry:
            return None
        total += int(entry["effective"])
    return total


def _subtasks_of(data: dict[str, Any], group: str) -> list[str]:
    """The member tasks of an lm-eval group, from the results' "group_subtasks"."""
    members = (data.get("group_subtasks") or {}).get(group) or []
    return [m for m in members if isinstance(m, str)]


def benchmark_from_results(
    bench: Benchmark, data: dict[str, Any], where: str, samples_dir: Path | None = None, stem_suffix: str = ""
) -> BenchmarkResult | None:
    """The benchmark's result from one lm-eval results dict, or None when it holds none of its keys.

    With ``samples_dir`` the per-sample logs next to the results are read too (for the bootstrap).
    A benchmark with only some of its keys present is an error: averaging fewer subtasks would give
    a number that is not the benchmark's score.
    """
    sections = [s for s in (data.get("results"), data.get("groups")) if isinstance(s, dict)]
    for keys in key_sets(bench):
        found = {k: _metric_entry(sections, k) for k in keys}
        present = [k for k, v in found.items() if v is not None]
        if not present:
            continue
        if len(present) < len(keys):
            missing = next(k for k in keys if found[k] is None)
            raise SosbenchError(
                f"{where}: benchmark {bench.name} is incomplete ({len(present)} of {len(keys)} results, "
                f"{missing} missing): re-run it"
            )
        if samples_dir is not None and keys == bench.result_keys(_protocol_of(bench, keys)):
            from_samples = _from_samples(bench, keys, data, samples_dir, stem_suffix, where)
            if from_samples is not None:
                return from_samples
        return _from_aggregates(bench, keys, found, data, where)
    return None


def _protocol_of(bench: Benchmark, keys: tuple[str, ...]) -> str:
    return next((p for p in PROTOCOLS if bench.result_keys(p) == keys), "paper")


def _from_aggregates(
    bench: Benchmark,
    keys: tuple[str, ...],
    found: dict[str, tuple[Any, Any] | None],
    data: dict[str, Any],
    where: str,
) -> BenchmarkResult:
    components = []
    for key, column in zip(keys, bench.artifact or keys, strict=True):
        value, stderr = found[key]  # type: ignore[misc]
        task = key.split("/", 1)[0]
        tasks = [task]
        if bench.score is not None and bench.score.pool:
            ours = keys == bench.result_keys(_protocol_of(bench, keys))
            tasks = _subtasks_of(data, task) or (
                list(bench.sample_tasks(_protocol_of(bench, keys))) if ours else [task]
            )
        components.append(
            Component(
                key=key,
                column=column,
                value=_score(value, where, key),
                stderr=_stderr(stderr, where, key),
                n=_n_samples(data, tasks),
                item_set=task,
            )
        )
    return BenchmarkResult(bench.name, tuple(components), where)


def find_samples(folder: Path, task: str, stem_suffix: str = "") -> Path | None:
    """``samples_<task>.jsonl`` (run folder) or lm-eval's ``samples_<task>_<timestamp>.jsonl``."""
    exact = folder / samples_name(f"{task}{stem_suffix}")
    if exact.is_file():
        return exact
    if stem_suffix:
        return None
    stamped = sorted(
        p
        for p in folder.glob(samples_name(f"{task}_*"))
        if _TIMESTAMP.search(task_of_samples(p)[len(task) :])
    )
    return stamped[-1] if stamped else None


def sample_rows(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value) of every non-blank line of an lm-eval samples log."""
    for lineno, line in enumerate(read_text(path, "lm-eval samples log").split("\n"), 1):
        if not line.strip():
            continue
        try:
            yield lineno, json.loads(line)
        except json.JSONDecodeError as exc:
            raise SosbenchError(
                f"{path}:{lineno}: malformed JSON line ({exc.msg}): re-run the benchmark"
            ) from None


def _item_value(value: Any, where: str, metric: str) -> float:
    """One doc's metric: a 0/1 boolean or a number in [0, 1] (all lm-eval writes for these metrics)."""
    if isinstance(value, bool):
        return float(value)
    if not isinstance(value, (int, float)):
        raise SosbenchError(f"{where}: {metric} is {value!r}, not a number: is it an lm-eval samples log?")
    return check_score(float(value), where, metric)


def read_sample_metric(path: Path, metric: str) -> Items:
    """One metric of every doc in an lm-eval samples log (a list-valued metric is a ratio per doc)."""
    nums: list[float] = []
    dens: list[float] = []
    ratio = False
    for lineno, row in sample_rows(path):
        if not isinstance(row, dict) or metric not in row:
            raise SosbenchError(
                f"{path}:{lineno}: no {metric!r} in this sample: is it an lm-eval samples log?"
            )
        value = row[metric]
        where = f"{path}:{lineno}"
        if isinstance(value, list):
            ratio = True
            nums.append(sum(_item_value(v, where, metric) for v in value))
            dens.append(float(len(value)))
        else:
            nums.append(_item_value(value, where, metric))
            dens.append(1.0)
    if not nums:
        raise SosbenchError(f"{path}: the samples log is empty: re-run the benchmark")
    return Items(np.asarray(nums), np.asarray(dens) if ratio else None)


def _from_samples(
    bench: Benchmark,
    keys: tuple[str, ...],
    data: dict[str, Any],
    folder: Path,
    stem_suffix: str,
    where: str,
) -> BenchmarkResult | None:
    """Components rebuilt from the per-sample logs, or None if any log is missing (aggregates are used)."""
    if bench.score is None:
        return None
    protocol = _protocol_of(bench, keys)
    sample_tasks = bench.sample_tasks(protocol)
    paths = {t: find_samples(folder, t, stem_suffix) for t in sample_tasks}
    if any(p is None for p in paths.values()):
        return None
    sections = [s for s in (data.get("results"), data.get("groups")) if isinstance(s, dict)]
    components = []
    if bench.score.pool:
        metric = keys[0].split("/", 1)[1]
        parts = [read_sample_metric(paths[t], metric) for t in sample_tasks]  # type: ignore[arg-type]
        items = Items(np.concatenate([p.num for p in parts]))
        stderr = _metric_entry(sections, keys[0])
        components.append(
            Component(
                key=keys[0],
                column=(bench.artifact or keys)[0],
                value=items.value,
                stderr=_stderr(stderr[1], where, keys[0]) if stderr else None,
                n=len(items),
                items=items,
                item_set=keys[0].split("/", 1)[0],
            )
        )
    else:
        for key, column in zip(keys, bench.artifact or keys, strict=True):
            task, metric = key.split("/", 1)
            items = read_sample_metric(paths[task], metric)  # type: ignore[arg-type]
            entry = _metric_entry(sections, key)
            components.append(
                Component(
                    key=key,
                    column=column,
                    value=items.value,
                    stderr=_stderr(entry[1], where, key) if entry else None,
                    n=len(items),
                    items=items,
                    item_set=task,
                )
            )
    return BenchmarkResult(bench.name, tuple(components), where)
