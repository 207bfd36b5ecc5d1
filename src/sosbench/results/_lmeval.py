"""Reading lm-eval output: a results JSON (ours or the paper's reference task names) and samples logs.

Which keys belong to which benchmark comes only from the registry (``Benchmark.result_keys`` for
our task names under either protocol, ``Benchmark.artifact`` for the reference names the paper's
files use), so a new benchmark in benchmarks.yaml is read without a change here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sosbench._io import read_json
from sosbench.errors import SosbenchError
from sosbench.results._model import BenchmarkResult, Component, Items
from sosbench.results._samples import SampleLog, find_samples
from sosbench.results._schema import check_score, check_stderr
from sosbench.suite import PROTOCOLS, Benchmark


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
    bench: Benchmark,
    data: dict[str, Any],
    where: str,
    samples_dir: Path | None = None,
    stem_suffix: str = "",
    item_details: bool = False,
) -> BenchmarkResult | None:
    """The benchmark's result from one lm-eval results dict, or None when it holds none of its keys.

    With ``samples_dir`` the per-sample logs next to the results are read too (for the bootstrap and
    `sosbench compare`; ``item_details`` keeps each item's prompt, response and gold). A benchmark with
    only some of its keys present is an error: averaging fewer subtasks would give a number that is not
    the benchmark's score. Its aggregates are checked even when the items are used.
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
        for key, (value, stderr) in ((k, v) for k, v in found.items() if v is not None):
            _score(value, where, key)
            _stderr(stderr, where, key)
        if samples_dir is not None and keys == bench.result_keys(_protocol_of(bench, keys)):
            from_samples = _from_samples(bench, keys, data, samples_dir, stem_suffix, where, item_details)
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


def _from_samples(
    bench: Benchmark,
    keys: tuple[str, ...],
    data: dict[str, Any],
    folder: Path,
    stem_suffix: str,
    where: str,
    item_details: bool,
) -> BenchmarkResult | None:
    """Components rebuilt from the per-sample logs, or None if any log is missing (aggregates are used)."""
    if bench.score is None:
        return None
    protocol = _protocol_of(bench, keys)
    sample_tasks = bench.sample_tasks(protocol)
    paths = {t: find_samples(folder, t, stem_suffix) for t in sample_tasks}
    if any(p is None for p in paths.values()):
        return None
    logs = {t: SampleLog.read(p, t) for t, p in paths.items() if p is not None}
    sections = [s for s in (data.get("results"), data.get("groups")) if isinstance(s, dict)]
    if bench.score.pool:
        metric = keys[0].split("/", 1)[1]
        parts = [(keys[0], Items.concat([logs[t].items(metric, item_details) for t in sample_tasks]))]
    else:
        parts = [(key, logs[key.split("/", 1)[0]].items(key.split("/", 1)[1], item_details)) for key in keys]
    components = []
    for (key, items), column in zip(parts, bench.artifact or keys, strict=False):
        entry = _metric_entry(sections, key)
        components.append(
            Component(
                key=key,
                column=column,
                value=items.value,
                stderr=_stderr(entry[1], where, key) if entry else None,
                n=len(items),
                items=items,
                item_set=key.split("/", 1)[0],
            )
        )
    return BenchmarkResult(bench.name, tuple(components), where, _versions(data, sample_tasks))


def _versions(data: dict[str, Any], tasks: Iterable[str]) -> str:
    """The lm-eval task versions of a benchmark's tasks (two runs of different versions are not paired)."""
    versions = data.get("versions") if isinstance(data.get("versions"), dict) else {}
    return json.dumps({t: versions.get(t) for t in tasks}, sort_keys=True)  # type: ignore[union-attr]
