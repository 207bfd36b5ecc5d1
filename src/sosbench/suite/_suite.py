"""The benchmark registry and selection by name or factor.

Benchmarks come from suite files: the built-in ``benchmarks.yaml``, then one YAML file per entry point
of the ``sosbench.benchmarks`` group (a callable returning the file's path), in entry-point name order.
A plugin package therefore adds benchmarks without touching sosbench; every file is validated by
``load_suite_file`` (what `sosbench validate` runs too).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

from sosbench._io import MAX_YAML_BYTES, load_yaml, read_text
from sosbench._registry import Registry, plugin_entry_points, suggest
from sosbench.errors import SosbenchError
from sosbench.suite._benchmark import FACTORS, Benchmark, benchmark_from_dict
from sosbench.suite._livebench import livebench_release

ENTRY_POINT_GROUP = "sosbench.benchmarks"
BUILTIN = "builtin"
"""The ``plugin`` name of the built-in suite (reserved: no entry point may use it)."""
SUITE_FILE = Path(__file__).with_name("benchmarks.yaml")


def read_suite_file(path: Path, plugin: str = "plugin") -> list[Benchmark]:
    """The validated benchmarks of one suite file; any error is one line naming the file and the field."""
    try:
        data: Any = load_yaml(read_text(path, "suite file", MAX_YAML_BYTES), str(path))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise SosbenchError(f"{path}{line}: not valid YAML; fix the file") from None
    if not isinstance(data, dict):
        raise SosbenchError(f"{path}: a suite file is a mapping with `version: 1` and `benchmarks:`")
    unknown = sorted(set(data) - {"version", "benchmarks"})
    if unknown:
        raise SosbenchError(f"{path}: unknown key {unknown[0]!r} (allowed: benchmarks, version)")
    if data.get("version") != 1:
        raise SosbenchError(f"{path}: suite file needs `version: 1`")
    entries = data.get("benchmarks") or []
    if not isinstance(entries, list):
        raise SosbenchError(f"{path}: `benchmarks` must be a list of benchmark entries")
    release = livebench_release()
    return [benchmark_from_dict(entry, str(path), plugin, release) for entry in entries]


def load_suite_file(path: Path, plugin: str, registry: Registry[Benchmark]) -> None:
    """Register every benchmark of one suite file."""
    for bench in read_suite_file(path, plugin):
        registry.register(bench.name, bench)


def suite_files() -> list[tuple[str, Path]]:
    """``(plugin name, suite file)`` for the built-in suite and every installed plugin, in load order."""
    found = [(BUILTIN, SUITE_FILE)]
    for ep in plugin_entry_points(ENTRY_POINT_GROUP):
        if ep.name == BUILTIN:
            raise SosbenchError(f"entry point {ENTRY_POINT_GROUP}:{BUILTIN} is reserved: rename the plugin's")
        found.append((ep.name, Path(ep.load()())))
    return found


@functools.cache
def registry() -> Registry[Benchmark]:
    """All registered benchmarks: the built-in suite first, then plugins in name order."""
    reg: Registry[Benchmark] = Registry("benchmark")
    for plugin, path in suite_files():
        load_suite_file(path, plugin, reg)
    return reg


def benchmarks() -> list[Benchmark]:
    """Every registered benchmark, in suite order."""
    return list(registry())


def get_benchmark(name: str) -> Benchmark:
    return registry().get(name)


def select(names: str | list[str] | None = None, factor: str | None = None) -> list[Benchmark]:
    """Benchmarks chosen by ``--benchmarks a,b`` (in the order given) and/or ``--factor F`` (in suite order).

    With neither given, the whole suite. An unknown name or factor fails with one line that
    names the closest matches.
    """
    reg = registry()
    chosen = list(reg)
    if names:
        wanted = [n.strip() for n in (names.split(",") if isinstance(names, str) else names) if n.strip()]
        chosen = [reg.get(name) for name in dict.fromkeys(wanted)]
    if factor:
        folded = {f.lower(): f for f in FACTORS}
        if factor.lower() not in folded:
            close = suggest(factor, list(FACTORS))
            hint = f"did you mean {close[0]}?" if close else f"choose from {', '.join(FACTORS)}"
            raise SosbenchError(f"unknown factor {factor!r}: {hint}")
        chosen = [b for b in chosen if b.factor == folded[factor.lower()]]
    if not chosen:
        raise SosbenchError("the selection is empty: check --benchmarks and --factor against `sosbench list`")
    return chosen
