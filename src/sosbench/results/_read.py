"""One entry point for every results input: run folders, lm-eval results JSON, LiveBench scores, CSVs.

Inputs that name the same model are merged, so a run folder and a separately scored LiveBench file
for one model become one set of benchmarks. The same benchmark from two inputs is refused rather
than silently overwritten.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from sosbench._io import last_path_part, model_name_from_args
from sosbench.errors import SosbenchError
from sosbench.results._livebench import (
    csv_layout,
    read_csv_rows,
    read_livebench_csv,
    read_livebench_scores,
)
from sosbench.results._lmeval import benchmark_from_results, load_json
from sosbench.results._model import BenchmarkResult, ModelResults
from sosbench.results._samples import livebench_details
from sosbench.results._schema import read_results
from sosbench.results._wide import is_wide_header, read_wide_csv
from sosbench.rundir import DONE, LIVEBENCH_SCORES, MANIFEST, RESULTS, read_done, read_manifest, samples_name
from sosbench.suite import Benchmark, benchmarks


def _benchmark_names() -> set[str]:
    return {b.name for b in benchmarks()}


def read_run_folder(folder: Path, item_details: bool = False) -> ModelResults:
    """The finished benchmarks of a `sosbench run` output folder (see the run-folder contract).

    A benchmark counts only with a valid ``done.json`` for that benchmark (and, when the manifest records
    one, the same configuration hash): a garbage or foreign marker is an error, never a finished benchmark.
    ``item_details`` keeps each item's prompt, response and gold (the per-item view of `sosbench compare`).
    """
    manifest = read_manifest(folder / MANIFEST)
    model = manifest.model_name or folder.name
    results = ModelResults(model, sources=[str(folder)], protocol=manifest.protocol, limit=manifest.limit)
    results.notes.append(f"{folder}: protocol {manifest.protocol}")
    for bench in benchmarks():
        sub = folder / bench.name
        if not sub.is_dir():
            continue
        if not (sub / DONE).exists():  # a FIFO or a device there is read, and refused, not skipped
            results.notes.append(f"{sub}: unfinished (no {DONE}), left out")
            continue
        marker = read_done(sub / DONE, bench.name)
        if manifest.config_hash is not None and marker.config_hash != manifest.config_hash:
            raise SosbenchError(
                f"{sub / DONE}: finished under another configuration than {folder / MANIFEST}: "
                f"delete {sub} and rerun `sosbench run` to redo it"
            )
        result = (
            _livebench_in_folder(bench, sub, model, item_details)
            if bench.livebench
            else read_lmeval_benchmark(bench, sub, item_details)
        )
        results.benchmarks[bench.name] = result
    if not results.benchmarks:
        raise SosbenchError(f"{folder}: no finished benchmark in this run folder: run `sosbench run` first")
    return results


def _livebench_in_folder(bench: Benchmark, sub: Path, model: str, item_details: bool) -> BenchmarkResult:
    path = sub / LIVEBENCH_SCORES
    if not path.exists():
        raise SosbenchError(f"{path}: missing although {sub / DONE} exists: re-run the benchmark")
    result = read_livebench_scores(path, model=model).get(model, {}).get(bench.name)
    if result is None:
        raise SosbenchError(f"{path}: does not cover every task of {bench.name}: re-run the benchmark")
    if not item_details:
        return result
    components = []
    for comp in result.components:
        shown = livebench_details(sub / samples_name(f"livebench_{comp.key}"))
        items = comp.items
        if items is not None and items.ids is not None:
            items = replace(items, details=tuple(shown.get(i, {}) for i in items.ids))
        components.append(replace(comp, items=items))
    return replace(result, components=tuple(components), version="livebench")


def read_lmeval_benchmark(bench: Benchmark, sub: Path, item_details: bool = False) -> BenchmarkResult:
    """One lm-eval benchmark of a run folder: ``<bench>/results.json`` with its samples logs."""
    path = sub / RESULTS
    data, _ = read_results(path)
    result = benchmark_from_results(bench, data, str(path), samples_dir=sub, item_details=item_details)
    if result is None:
        raise SosbenchError(f"{path}: holds no result for {bench.name}: re-run the benchmark")
    return result


def _model_name(data: dict[str, Any], path: Path) -> str:
    """lm-eval's model name: "model_name", else the `pretrained=` basename, else the folder/file name."""
    if isinstance(data.get("model_name"), str) and data["model_name"]:
        return last_path_part(data["model_name"])
    named = model_name_from_args((data.get("config") or {}).get("model_args"))
    if named:
        return named
    return path.parent.name if path.stem.startswith("results") else path.stem


def read_results_json(path: Path, item_details: bool = False) -> ModelResults:
    """A plain lm-eval results JSON (our task names or the paper's reference names), with its samples logs."""
    data, _ = read_results(path)
    suffix = path.stem[len("results") :] if path.stem.startswith("results_") else ""
    config = data.get("config") if isinstance(data.get("config"), dict) else {}
    corrected = any(str(t).endswith("_corrected") for t in [*data["results"], *(data.get("groups") or {})])
    results = ModelResults(
        _model_name(data, path),
        sources=[str(path)],
        protocol="corrected" if corrected else "paper",
        limit=_limit(config.get("limit"), path),  # type: ignore[union-attr]
    )
    for bench in benchmarks():
        if bench.score is None:
            continue
        result = benchmark_from_results(
            bench, data, str(path), samples_dir=path.parent, stem_suffix=suffix, item_details=item_details
        )
        if result is not None:
            results.benchmarks[bench.name] = result
    if not results.benchmarks:
        tasks = ", ".join(sorted(data["results"])[:5]) or "none"
        raise SosbenchError(
            f"{path}: its tasks ({tasks}) match no SOS-Bench benchmark: "
            "see `sosbench list` for what is scored"
        )
    return results


def _limit(value: Any, path: Path) -> int | float | None:
    """lm-eval's ``config.limit``: items per task (an int), a fraction of them (a float < 1), or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise SosbenchError(f"{path}: config.limit is {value!r}, not a positive number: is the file intact?")
    return int(value) if float(value).is_integer() and value >= 1 else float(value)


def _from_livebench(by_model: dict[str, dict[str, BenchmarkResult]], path: Path) -> list[ModelResults]:
    return [ModelResults(m, dict(r), sources=[str(path)]) for m, r in by_model.items()]


def run_folders_in(folder: Path) -> list[Path]:
    """The run folders directly inside ``folder`` (the parent `sosbench run --models` writes), sorted.

    Without this, the results.json files of every benchmark inside would each read as one "model" named
    after its benchmark folder.
    """
    return sorted(child for child in folder.iterdir() if child.is_dir() and (child / MANIFEST).exists())


def read_path(path: Path, item_details: bool = False) -> list[ModelResults]:
    """Every model's results in one input (a run folder, a results JSON, a LiveBench file or a CSV).

    ``item_details`` keeps each item's prompt, response and gold where the input has them.
    """
    path = Path(path)
    if path.is_dir():
        if (path / MANIFEST).exists():
            return [read_run_folder(path, item_details)]
        if (path.parent / MANIFEST).exists() and ((path / DONE).exists() or path.name in _benchmark_names()):
            raise SosbenchError(
                f"{path} is the {path.name} benchmark of the run folder {path.parent}, not a model: "
                f"pass the run folder ({path.parent})"
            )
        runs = run_folders_in(path)
        if runs:
            return [read_run_folder(run, item_details) for run in runs]
        found = sorted(path.rglob("results*.json"))
        if not found:
            raise SosbenchError(
                f"{path}: neither a run folder ({MANIFEST}) nor a folder of lm-eval results_*.json"
            )
        return [read_results_json(p, item_details) for p in found]
    if not path.exists():
        raise SosbenchError(f"{path}: no such file or folder: check the path")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        header, _ = read_csv_rows(path)
        if is_wide_header(header):
            return list(read_wide_csv(path).values())
        if csv_layout(header):
            return _from_livebench(read_livebench_csv(path), path)
        raise SosbenchError(
            f"{path}: unknown CSV layout (expected eleuther_wandb.csv-style `Name,<task>/<metric>...` "
            "or a LiveBench groups/tasks CSV)"
        )
    if suffix == ".jsonl":
        return _from_livebench(read_livebench_scores(path), path)
    if suffix == ".json":
        # a JSON list holds LiveBench per-question rows; an object is an lm-eval results file
        if isinstance(load_json(path), list):
            return _from_livebench(read_livebench_scores(path), path)
        return [read_results_json(path, item_details)]
    raise SosbenchError(f"{path}: unsupported input (use a run folder, .json, .jsonl or .csv)")


def read_paths(paths: list[Path], item_details: bool = False) -> list[ModelResults]:
    """All inputs, merged per model in the order first seen (``item_details``: see :func:`read_path`)."""
    if not paths:
        raise SosbenchError("no input given: pass run folders or results files")
    merged: dict[str, ModelResults] = {}
    for path in paths:
        for item in read_path(Path(path), item_details):
            into = merged.setdefault(item.model, ModelResults(item.model, protocol=item.protocol))
            for name, result in item.benchmarks.items():
                if name in into.benchmarks:
                    raise SosbenchError(
                        f"{path}: {item.model} {name} was already read from {into.benchmarks[name].source}: "
                        "pass each benchmark once"
                    )
                into.benchmarks[name] = result
            into.sources += [s for s in item.sources if s not in into.sources]
            into.notes += item.notes
            into.limit = into.limit if item.limit is None else item.limit
    if not merged:
        raise SosbenchError(f"no model found in {', '.join(str(p) for p in paths)}: check the inputs")
    return list(merged.values())
