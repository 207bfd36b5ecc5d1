"""The benchmark registry and selection by name or factor.

Benchmarks come from YAML files named by the ``sosbench.benchmarks`` entry-point group: each
entry point is a callable returning the path of a suite file (the built-in suite registers the
same way). A plugin package therefore adds benchmarks without touching sosbench.
"""

from __future__ import annotations

import functools
from importlib.metadata import entry_points
from pathlib import Path

import yaml

from sosbench.errors import SosbenchError
from sosbench.suite._benchmark import FACTORS, Benchmark, benchmark_from_dict
from sosbench.suite._builtin import SUITE_FILE
from sosbench.suite._registry import Registry, suggest

ENTRY_POINT_GROUP = "sosbench.benchmarks"


def load_suite_file(path: Path, plugin: str, registry: Registry[Benchmark]) -> None:
    """Register every benchmark of one suite file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if "version" not in data:
        raise SosbenchError(f"{path}: suite file has no `version`: add `version: 1`")
    for entry in data.get("benchmarks", []):
        registry.register(entry.get("name", "?"), benchmark_from_dict(entry, str(path), plugin))


@functools.cache
def registry() -> Registry[Benchmark]:
    """All registered benchmarks: the built-in suite first, then plugins in name order."""
    reg: Registry[Benchmark] = Registry("benchmark")
    found = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    load_suite_file(SUITE_FILE, "builtin", reg)
    for name in sorted(found):
        if name == "builtin":
            continue
        load_suite_file(Path(found[name].load()()), name, reg)
    return reg


def benchmarks() -> list[Benchmark]:
    """Every registered benchmark, in suite order."""
    return list(registry())


def get_benchmark(name: str) -> Benchmark:
    return registry().get(name)


def select(names: str | list[str] | None = None, factor: str | None = None) -> list[Benchmark]:
    """Benchmarks chosen by ``--benchmarks a,b`` and/or ``--factor F``, in suite order.

    With neither given, the whole suite. An unknown name or factor fails with one line that
    names the closest matches.
    """
    reg = registry()
    chosen = list(reg)
    if names:
        wanted = [n.strip() for n in (names.split(",") if isinstance(names, str) else names) if n.strip()]
        for name in wanted:
            reg.get(name)
        chosen = [b for b in chosen if b.name in wanted]
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
