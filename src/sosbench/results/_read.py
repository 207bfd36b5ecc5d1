"""One entry point for every results input: run folders, lm-eval results JSON, LiveBench scores, CSVs.

Inputs that name the same model are merged, so a run folder and a separately scored LiveBench file
for one model become one set of benchmarks. The same benchmark from two inputs is refused rather
than silently overwritten.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sosbench.errors import SosbenchError
from sosbench.results._livebench import (
    csv_layout,
    read_csv_rows,
    read_livebench_csv,
    read_livebench_scores,
)
from sosbench.results._lmeval import benchmark_from_results, load_json
from sosbench.results._model import BenchmarkResult, ModelResults
from sosbench.results._schema import read_results
from sosbench.results._wide import is_wide_header, read_wide_csv
from sosbench.rundir import DONE, MANIFEST, RESULTS, RunDir
from sosbench.suite import benchmarks


def read_run_folder(folder: Path) -> ModelResults:
    """The finished benchmarks of a `sosbench run` output folder (see the run-folder contract).

    A benchmark counts only with a valid ``done.json`` for that benchmark (and, when the manifest records
    one, the same configuration hash): a garbage or foreign marker is an error, never a finished benchmark.
    """
    run_dir = RunDir(folder)
    manifest = run_dir.read_manifest()
    model = manifest.model_name or folder.name
    results = ModelResults(model, sources=[str(folder)])
    results.notes.append(f"{folder}: protocol {manifest.protocol}")
    for bench in benchmarks():
        sub = run_dir.benchmark(bench.name)
        if not sub.is_dir():
            continue
        if not run_dir.done(bench.name).is_file():
            results.notes.append(f"{sub}: unfinished (no {DONE}), left out")
            continue
        marker = run_dir.read_done(bench.name)
        if manifest.config_hash is not None and marker.config_hash != manifest.config_hash:
            raise SosbenchError(
                f"{sub / DONE}: finished under another configuration than {run_dir.manifest}: "
                f"delete {sub} and rerun `sosbench run` to redo it"
            )
        result = (
            _livebench_in_folder(bench.name, run_dir, model)
            if bench.livebench
            else read_lmeval_benchmark(bench, sub)
        )
        results.benchmarks[bench.name] = result
    if not results.benchmarks:
        raise SosbenchError(f"{folder}: no finished benchmark in this run folder: run `sosbench run` first")
    return results


def _livebench_in_folder(name: str, run_dir: RunDir, model: str) -> BenchmarkResult:
    path = run_dir.livebench_scores(name)
    if not path.is_file():
        raise SosbenchError(f"{path}: missing although {run_dir.done(name)} exists: re-run the benchmark")
    result = read_livebench_scores(path, model=model).get(model, {}).get(name)
    if result is None:
        raise SosbenchError(f"{path}: does not cover every task of {name}: re-run the benchmark")
    return result


def read_lmeval_benchmark(bench: Any, sub: Path) -> BenchmarkResult:
    """One lm-eval benchmark of a run folder: ``<bench>/results.json`` with its samples logs."""
    path = sub / RESULTS
    data, _ = read_results(path)
    result = benchmark_from_results(bench, data, str(path), samples_dir=sub)
    if result is None:
        raise SosbenchError(f"{path}: holds no result for {bench.name}: re-run the benchmark")
    return result


def _model_name(data: dict[str, Any], path: Path) -> str:
    """lm-eval's model name: "model_name", else the `pretrained=` basename, else the folder/file name."""
    if isinstance(data.get("model_name"), str) and data["model_name"]:
        return data["model_name"].rstrip("/").rsplit("/", 1)[-1]
    args = (data.get("config") or {}).get("model_args")
    if isinstance(args, dict) and args.get("pretrained"):
        return str(args["pretrained"]).rstrip("/").rsplit("/", 1)[-1]
    if isinstance(args, str):
        for part in args.split(","):
            key, _, value = part.partition("=")
            if key.strip() == "pretrained" and value:
                return value.strip().rstrip("/").rsplit("/", 1)[-1]
    return path.parent.name if path.stem.startswith("results") else path.stem


def read_results_json(path: Path) -> ModelResults:
    """A plain lm-eval results JSON (our task names or the paper's reference names), with its samples logs."""
    data, _ = read_results(path)
    suffix = path.stem[len("results") :] if path.stem.startswith("results_") else ""
    results = ModelResults(_model_name(data, path), sources=[str(path)])
    for bench in benchmarks():
        if bench.score is None:
            continue
        result = benchmark_from_results(bench, data, str(path), samples_dir=path.parent, stem_suffix=suffix)
        if result is not None:
            results.benchmarks[bench.name] = result
    if not results.benchmarks:
        tasks = ", ".join(sorted(data["results"])[:5]) or "none"
        raise SosbenchError(
            f"{path}: its tasks ({tasks}) match no SOS-Bench benchmark: "
            "see `sosbench list` for what is scored"
        )
    return results


def _from_livebench(by_model: dict[str, dict[str, BenchmarkResult]], path: Path) -> list[ModelResults]:
    return [ModelResults(m, dict(r), sources=[str(path)]) for m, r in by_model.items()]


def run_folders_in(folder: Path) -> list[Path]:
    """The run folders directly inside ``folder`` (the parent `sosbench run --models` writes), sorted.

    Without this, the results.json files of every benchmark inside would each read as one "model" named
    after its benchmark folder.
    """
    return sorted(child for child in folder.iterdir() if child.is_dir() and (child / MANIFEST).is_file())


def read_path(path: Path) -> list[ModelResults]:
    """Every model's results in one input (a run folder, a results JSON, a LiveBench file or a CSV)."""
    path = Path(path)
    if path.is_dir():
        if (path / MANIFEST).is_file():
            return [read_run_folder(path)]
        runs = run_folders_in(path)
        if runs:
            return [read_run_folder(run) for run in runs]
        found = sorted(path.rglob("results*.json"))
        if not found:
            raise SosbenchError(
                f"{path}: neither a run folder ({MANIFEST}) nor a folder of lm-eval results_*.json"
            )
        return [read_results_json(p) for p in found]
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
        return [read_results_json(path)]
    raise SosbenchError(f"{path}: unsupported input (use a run folder, .json, .jsonl or .csv)")


def read_paths(paths: list[Path]) -> list[ModelResults]:
    """All inputs, merged per model in the order first seen."""
    if not paths:
        raise SosbenchError("no input given: pass run folders or results files")
    merged: dict[str, ModelResults] = {}
    for path in paths:
        for item in read_path(Path(path)):
            into = merged.setdefault(item.model, ModelResults(item.model))
            for name, result in item.benchmarks.items():
                if name in into.benchmarks:
                    raise SosbenchError(
                        f"{path}: {item.model} {name} was already read from {into.benchmarks[name].source}: "
                        "pass each benchmark once"
                    )
                into.benchmarks[name] = result
            into.sources += [s for s in item.sources if s not in into.sources]
            into.notes += item.notes
    if not merged:
        raise SosbenchError(f"no model found in {', '.join(str(p) for p in paths)}: check the inputs")
    return list(merged.values())
