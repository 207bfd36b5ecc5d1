"""`sosbench run`: plan -> check data -> load the model once -> one benchmark at a time -> manifest.

Each finished benchmark is final on disk before the next starts (see _layout), so a rerun of the
same command skips it and a kill loses only the benchmark in flight.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sosbench.errors import SosbenchError
from sosbench.run import _lmeval
from sosbench.run._atomic import read_json, write_json_atomic
from sosbench.run._config import RunConfig
from sosbench.run._layout import RunDir
from sosbench.run._mirror import load_manifest
from sosbench.run._preflight import check_data
from sosbench.suite import Benchmark, get_benchmark

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Plan:
    """What a run will do: the benchmarks to run now and those already finished."""

    todo: tuple[Benchmark, ...]
    done: tuple[Benchmark, ...]
    config_hash: str


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def plan(config: RunConfig, *, overwrite: bool = False) -> Plan:
    """Decide what to run, refusing to mix a changed configuration into an old output folder."""
    lm_eval_version = _version("lm-eval") or "missing"
    digest = config.config_hash(lm_eval_version)
    run_dir = RunDir(config.output)
    if run_dir.manifest.exists():
        try:
            old = read_json(run_dir.manifest)
        except ValueError:
            raise SosbenchError(f"{run_dir.manifest} is not valid JSON: pass --overwrite to start over") from None
        if old.get("config_hash") != digest and not overwrite:
            changed = [k for k, v in config.hashed().items() if old.get("config", {}).get(k) != _jsonable(v)]
            what = ", ".join(changed) or "lm-eval version"
            raise SosbenchError(
                f"{config.output} holds a run with a different configuration ({what} changed): "
                "pass --overwrite to start over there, or choose another --output"
            )
        if old.get("config_hash") != digest:
            _clear(run_dir)
    benches = [get_benchmark(name) for name in config.benchmarks]
    done = tuple(b for b in benches if run_dir.is_done(b.name, digest))
    todo = tuple(b for b in benches if b not in done)
    return Plan(todo=todo, done=done, config_hash=digest)


def _jsonable(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=str))


def _clear(run_dir: RunDir) -> None:
    """Remove a previous run's files (only what sosbench writes there)."""
    run_dir.manifest.unlink(missing_ok=True)
    run_dir.clear_partials()
    for child in run_dir.root.iterdir():
        if child.is_dir() and (child / "done.json").exists():
            shutil.rmtree(child)


def _chat_template_sha(lm: Any, template: bool | str) -> str | None:
    if not template:
        return None
    try:
        text = lm.chat_template(template)
    except Exception:  # noqa: BLE001 - API models have no local template to hash
        return None
    return hashlib.sha256(text.encode()).hexdigest() if text else None


def _manifest(config: RunConfig, digest: str, benches: list[Benchmark]) -> dict[str, Any]:
    mirror = load_manifest(config.data_dir).get("datasets", {}) if config.data_dir else {}
    return {
        "schema_version": SCHEMA_VERSION,
        "sosbench": _version("sosbench"),
        "lm_eval": _version("lm-eval"),
        "torch": _version("torch"),
        "transformers": _version("transformers"),
        "datasets_version": _version("datasets"),
        "protocol": config.protocol,
        "model": config.model,
        "model_args": config.model_args,
        "model_name": config.display_name(),
        "config": _jsonable(config.hashed()),
        "config_hash": digest,
        "data_dir": str(config.data_dir) if config.data_dir else None,
        "benchmarks": [b.name for b in benches],
        "datasets": {
            spec.id: {
                "configs": list(spec.configs),
                "splits": list(spec.splits),
                "revision": mirror.get(spec.id, {}).get("revision") or spec.revision,
                "source": "mirror" if config.data_dir else "hub",
            }
            for b in benches
            for spec in b.datasets
        },
        "chat_template_sha256": None,
        "started": _now(),
        "finished": None,
        "timings": {},
    }


def execute(
    config: RunConfig,
    *,
    overwrite: bool = False,
    on_start: Callable[[Benchmark, int, int], None] | None = None,
    on_done: Callable[[Benchmark, float], None] | None = None,
) -> dict[str, Any]:
    """Run every unfinished benchmark of ``config``; returns the final manifest."""
    the_plan = plan(config, overwrite=overwrite)
    benches = [get_benchmark(name) for name in config.benchmarks]
    run_dir = RunDir(config.output)
    config.output.mkdir(parents=True, exist_ok=True)
    run_dir.clear_partials()
    manifest = _previous_or_new(run_dir, config, the_plan.config_hash, benches)
    if the_plan.todo:
        check_data(the_plan.todo, config.data_dir)
        if any(b.name == "ifeval" or b.engine == "livebench" for b in the_plan.todo):
            from sosbench.livebench import ensure_punkt_tab

            ensure_punkt_tab()  # IFEval's sentence counter needs NLTK punkt_tab, which NLTK cannot fetch offline
        lm = _lmeval.make_model(config)
        manifest["chat_template_sha256"] = manifest["chat_template_sha256"] or _chat_template_sha(
            lm, _lmeval.uses_chat_template(the_plan.todo[0], config)
        )
        with tempfile.TemporaryDirectory(prefix="sosbench-tasks-") as workdir:
            manager, specs = _lmeval.prepare_tasks(list(the_plan.todo), config, Path(workdir))
            for index, bench in enumerate(the_plan.todo):
                if on_start:
                    on_start(bench, index, len(the_plan.todo))
                started = time.monotonic()
                staging = run_dir.start(bench.name)
                _lmeval.evaluate(lm, bench, config, manager, specs[bench.name], staging)
                if bench.engine == "livebench":
                    _finalize_livebench(bench, config, staging)
                seconds = round(time.monotonic() - started, 3)
                marker = {"benchmark": bench.name, "config_hash": the_plan.config_hash, "seconds": seconds}
                run_dir.finish(bench.name, {**marker, "finished": _now()})
                manifest["timings"][bench.name] = seconds
                write_json_atomic(run_dir.manifest, manifest)
                if on_done:
                    on_done(bench, seconds)
    manifest["finished"] = _now()
    write_json_atomic(run_dir.manifest, manifest)
    return manifest


def _previous_or_new(run_dir: RunDir, config: RunConfig, digest: str, benches: list[Benchmark]) -> dict[str, Any]:
    """Keep the earlier manifest's timings when resuming; extend its benchmark list."""
    fresh = _manifest(config, digest, benches)
    if not run_dir.manifest.exists():
        write_json_atomic(run_dir.manifest, fresh)
        return fresh
    old = read_json(run_dir.manifest)
    if old.get("config_hash") != digest:
        write_json_atomic(run_dir.manifest, fresh)
        return fresh
    old["benchmarks"] = list(dict.fromkeys(old.get("benchmarks", []) + fresh["benchmarks"]))
    old["datasets"] = {**old.get("datasets", {}), **fresh["datasets"]}
    old["finished"] = None
    write_json_atomic(run_dir.manifest, old)
    return old


def _finalize_livebench(bench: Benchmark, config: RunConfig, staging: Path) -> None:
    """Score LiveBench answers with sosbench's native scorers and write them beside lm-eval's logs."""
    from sosbench import livebench

    if bench.livebench is None:
        raise SosbenchError(f"benchmark {bench.name!r} has no livebench section in its suite file")
    livebench.finalize_run(staging, bench.livebench.category, config.display_name(), protocol=config.protocol)
