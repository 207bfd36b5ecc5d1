"""`sosbench run`: plan units -> check data -> run them on an executor -> merge shards -> manifest.

Each finished unit is final on disk before the driver hears of it (see sosbench.rundir and _worker), so a
rerun of the same command skips it and a kill loses only the units in flight. The driver alone
writes the manifest and merges shards; workers write only their own unit folders.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from sosbench._io import folder_lock
from sosbench.errors import SosbenchError
from sosbench.run._config import RunConfig
from sosbench.run._mirror import load_manifest
from sosbench.run._preflight import check_data, check_engine, check_model_files, check_sandbox, sandbox_record
from sosbench.run._units import Job, Unit, shard_count, units_of
from sosbench.run._worker import unit_done
from sosbench.run.executors import Events, Executor, LocalExecutor
from sosbench.rundir import (
    DatasetSource,
    DoneMarker,
    Manifest,
    ProtocolName,
    RunDir,
    RunSettings,
    SandboxRecord,
    utc_now,
)
from sosbench.suite import Benchmark, get_benchmark


@dataclass(frozen=True)
class Plan:
    """What a run will do: the benchmarks to run now, those already finished, and the units left to run."""

    todo: tuple[Benchmark, ...]
    done: tuple[Benchmark, ...]
    config_hash: str
    units: tuple[Unit, ...] = ()
    shards: dict[str, int] = field(default_factory=dict)
    """Shard count of each benchmark still to do (1 = run whole)."""
    clear: bool = False
    """The folder holds another configuration's files, removed when the run starts (not when planning)."""


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def plan(
    config: RunConfig, *, overwrite: bool = False, shards: int | None = None, executor: str = "local"
) -> Plan:
    """Decide what to run, refusing to mix a changed configuration into an old output folder.

    Planning only reads: an old run that ``--overwrite`` replaces is marked ``clear`` and removed by
    `execute_all`, under the folder lock, once every model's checks passed.
    """
    lm_eval_version = _version("lm-eval") or "missing"
    digest = config.config_hash(lm_eval_version)
    run_dir = RunDir(config.output)
    clear = False
    old: Manifest | None = None
    if run_dir.manifest.exists():
        try:
            old = run_dir.read_manifest()
        except SosbenchError as exc:
            if not overwrite:
                raise SosbenchError(f"{exc} (or pass --overwrite to start over)") from None
            old = Manifest()
        if old.config_hash != digest:
            if not overwrite and run_dir.holds_results():
                before = old.config.model_dump() if old.config else {}
                changed = [k for k, v in config.hashed().items() if before.get(k) != _jsonable(v)]
                what = ", ".join(changed) or "lm-eval version"
                raise SosbenchError(
                    f"{config.output} holds a run with a different configuration ({what} changed): "
                    "pass --overwrite to start over there, or choose another --output"
                )
            clear = True  # --overwrite, or an attempt that finished nothing: its manifest is replaced
    benches = [get_benchmark(name) for name in config.benchmarks]
    if old is not None and not clear:
        try:
            _check_same_data(config, old, benches)
        except SosbenchError:
            if not overwrite:
                raise
            clear = True  # --overwrite: start over with this data
    done = () if clear else tuple(b for b in benches if run_dir.is_done(b.name, digest))
    todo = tuple(b for b in benches if b not in done)
    counts = {b.name: shard_count(b, shards, executor) for b in todo}
    units = tuple(
        u
        for b in todo
        for u in units_of(b, counts[b.name])
        if clear or not unit_done(config.output, u, digest)
    )
    return Plan(todo=todo, done=done, config_hash=digest, units=units, shards=counts, clear=clear)


def _jsonable(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=str))


def _datasets(config: RunConfig, benches: Sequence[Benchmark]) -> dict[str, DatasetSource]:
    """Where this attempt reads each dataset of ``benches`` from: the revision, and the mirror or the hub."""
    mirror = load_manifest(config.data_dir).get("datasets", {}) if config.data_dir else {}
    return {
        spec.id: DatasetSource(
            configs=list(spec.configs),
            splits=list(spec.splits),
            revision=mirror.get(spec.id, {}).get("revision") or spec.revision,
            source="mirror" if config.data_dir else "hub",
            data_dir=str(config.data_dir) if config.data_dir else None,
        )
        for b in benches
        for spec in b.datasets
    }


def _check_same_data(config: RunConfig, old: Manifest, benches: list[Benchmark]) -> None:
    """A resumed run must read the data its finished part read: every dataset at the revision recorded.

    Another ``--data-dir`` (another machine's copy of the mirror) is fine when its revisions are the same;
    a mirror at other revisions, or the hub instead of a mirror pinned elsewhere, would mix two versions of
    a benchmark's data in one folder, so it is refused before anything loads.
    """
    recorded = old.datasets or {}
    for dataset_id, now in _datasets(config, benches).items():
        before = recorded.get(dataset_id)
        if before is not None and before.revision != now.revision:
            raise SosbenchError(
                f"{config.output} was run with {dataset_id} at revision {before.revision} from "
                f"{_origin(before, old.data_dir)}; {_origin(now, None)} has revision "
                f"{now.revision}: resume with the data of the first attempt (its --data-dir), "
                "or pass --overwrite to start over"
            )


def _origin(entry: DatasetSource, data_dir: str | None) -> str:
    """Where a manifest's dataset entry was read from, in words."""
    if entry.source != "mirror":
        return "the hub"
    where = entry.data_dir or data_dir
    return f"the mirror {where}" if where else "a mirror"


def _manifest(config: RunConfig, digest: str, benches: list[Benchmark]) -> Manifest:
    sandbox = sandbox_record(benches, config)
    return Manifest(
        sosbench=_version("sosbench"),
        lm_eval=_version("lm-eval"),
        torch=_version("torch"),
        transformers=_version("transformers"),
        datasets_version=_version("datasets"),
        protocol=cast(ProtocolName, config.protocol),  # RunConfig checked it against PROTOCOLS
        livebench_sandbox=config.sandbox,
        livebench_sandbox_limits=SandboxRecord(**sandbox) if sandbox is not None else None,
        model=config.model,
        model_args=_jsonable(config.plain_model_args()),
        model_name=config.display_name(),
        config=RunSettings(**_jsonable(config.hashed())),
        config_hash=digest,
        data_dir=str(config.data_dir) if config.data_dir else None,
        benchmarks=[b.name for b in benches],
        datasets=_datasets(config, benches),
        started=utc_now(),
        timings={},
    )


def execute(
    config: RunConfig, *, overwrite: bool = False, shards: int | None = None, hooks: RunHooks | None = None
) -> Manifest:
    """Run one model's unfinished units in this process; returns its final manifest."""
    return execute_all([config], LocalExecutor(), overwrite=overwrite, shards=shards, hooks=hooks)[0]


@dataclass(frozen=True)
class RunHooks:
    """What the caller (the CLI's progress display) hears about; every hook is optional."""

    planned: Callable[[RunConfig, Plan], None] | None = None
    """Called once per model, after its plan and before any of its units runs."""
    unit_started: Callable[[Job], None] | None = None
    unit_done: Callable[[Job, dict[str, Any]], None] | None = None
    unit_failed: Callable[[Job, str, bool], None] | None = None
    benchmark_done: Callable[[RunConfig, Benchmark, float], None] | None = None


class _ModelRun:
    """The driver's state for one model: its plan, manifest and finished shards (merged when complete)."""

    def __init__(self, config: RunConfig, the_plan: Plan) -> None:
        self.config = config
        self.plan = the_plan
        self.run_dir = RunDir(config.output)
        self.seconds: dict[str, float] = {}
        benches = [get_benchmark(name) for name in config.benchmarks]
        config.output.mkdir(parents=True, exist_ok=True)
        self.run_dir.clear_partials()
        self.manifest = _previous_or_new(self.run_dir, config, the_plan.config_hash, benches, the_plan.todo)

    def jobs(self) -> list[Job]:
        return [Job(self.config, unit, self.plan.config_hash) for unit in self.plan.units]

    def unit_finished(self, unit: Unit, info: dict[str, Any], hooks: RunHooks) -> None:
        """Record a finished unit; finish its benchmark when it was the last missing shard."""
        if info.get("chat_template_sha256") and not self.manifest.chat_template_sha256:
            self.manifest = self.manifest.model_copy(
                update={"chat_template_sha256": info["chat_template_sha256"]}
            )
        self.seconds[unit.benchmark] = self.seconds.get(unit.benchmark, 0.0) + float(info.get("seconds", 0.0))
        if unit.sharded:
            self.merge_if_complete(get_benchmark(unit.benchmark), hooks)
        else:
            self._benchmark_finished(get_benchmark(unit.benchmark), hooks)

    def merge_if_complete(self, bench: Benchmark, hooks: RunHooks) -> None:
        count = self.plan.shards.get(bench.name, 1)
        if count <= 1 or self.run_dir.is_done(bench.name, self.plan.config_hash):
            return
        if not all(unit_done(self.config.output, u, self.plan.config_hash) for u in units_of(bench, count)):
            return
        from sosbench.run import _merge  # imports lm-eval: only a driver that merges pays for it

        started = time.monotonic()
        staging = self.run_dir.start(bench.name)
        _merge.merge(self.config, bench, count, staging)
        self.seconds[bench.name] = self.seconds.get(bench.name, 0.0) + time.monotonic() - started
        marker = DoneMarker(
            benchmark=bench.name,
            config_hash=self.plan.config_hash,
            seconds=round(self.seconds[bench.name], 3),
            finished=utc_now(),
            shards=count,
        )
        self.run_dir.finish(bench.name, marker)
        self._benchmark_finished(bench, hooks)

    def _benchmark_finished(self, bench: Benchmark, hooks: RunHooks) -> None:
        seconds = round(self.seconds.get(bench.name, 0.0), 3)
        timings = {**(self.manifest.timings or {}), bench.name: seconds}
        self.manifest = self.manifest.model_copy(update={"timings": timings})
        self.run_dir.write_manifest(self.manifest)
        if hooks.benchmark_done:
            hooks.benchmark_done(self.config, bench, seconds)

    def close(self, complete: bool) -> Manifest:
        if complete:
            self.manifest = self.manifest.model_copy(update={"finished": utc_now()})
        self.run_dir.write_manifest(self.manifest)
        return self.manifest


def execute_all(
    configs: list[RunConfig],
    executor: Executor,
    *,
    overwrite: bool = False,
    shards: int | None = None,
    hooks: RunHooks | None = None,
) -> list[Manifest]:
    """Plan every model's units, run them on ``executor``, merge shards as they complete.

    Returns the manifests. Units that still fail after their retries are reported in one error
    after everything else finished, so a rerun of the same command redoes only those.
    """
    hooks = hooks or RunHooks()
    executor.check()
    with contextlib.ExitStack() as locks:
        for config in configs:
            locks.enter_context(run_folder_lock(config.output))
        return _execute_locked(configs, executor, overwrite=overwrite, shards=shards, hooks=hooks)


@contextlib.contextmanager
def run_folder_lock(output: Path) -> Iterator[None]:
    """Hold a run folder for the whole run: a second `sosbench run` on it is refused with one line.

    Only the driver takes the lock; workers (local, Ray tasks, Slurm array tasks) write their own unit's
    staging folder and never lock, so the lock cannot block the run's own units.
    """
    if output.exists() and not output.is_dir():
        raise SosbenchError(f"--output {output} is a file, not a folder: choose a folder path")
    with folder_lock(output, "the run folder"):
        yield


def _execute_locked(
    configs: list[RunConfig], executor: Executor, *, overwrite: bool, shards: int | None, hooks: RunHooks
) -> list[Manifest]:
    runs: dict[Path, _ModelRun] = {}
    plans: list[tuple[RunConfig, Plan]] = []
    for config in configs:
        the_plan = plan(config, overwrite=overwrite, shards=shards, executor=executor.name)
        if hooks.planned:
            hooks.planned(config, the_plan)
        if the_plan.todo:
            check_engine(config.model, local=executor.name == "local", model_args=config.model_args)
            if executor.name == "local":  # Ray and Slurm workers may see other file systems
                check_model_files(config.model, config.model_args)
            check_data(the_plan.todo, config.data_dir)
            check_sandbox(the_plan.todo, config.sandbox)
        plans.append((config, the_plan))
    for config, the_plan in plans:
        if the_plan.clear:
            RunDir(config.output).clear()
        runs[config.output] = _ModelRun(config, the_plan)
    for run in runs.values():  # shards finished by an earlier, interrupted run
        for bench in run.plan.todo:
            run.merge_if_complete(bench, hooks)

    def finished(job: Job, info: dict[str, Any]) -> None:
        if hooks.unit_done:
            hooks.unit_done(job, info)
        runs[job.config.output].unit_finished(job.unit, info, hooks)

    events = Events(
        started=hooks.unit_started or (lambda _job: None),
        finished=finished,
        failed=hooks.unit_failed or (lambda _job, _error, _retry: None),
    )
    jobs = [job for run in runs.values() for job in run.jobs()]
    failures = executor.run(jobs, events) if jobs else []  # nothing left: start no Ray or Slurm
    failed_models = {f.job.config.output for f in failures}
    manifests = [run.close(complete=out not in failed_models) for out, run in runs.items()]
    if failures:
        first_input = next((f for f in failures if f.input_error), None)
        if first_input is not None:  # what the user must fix, as the unit said it
            others = len(failures) - 1
            more = f" ({others} other unit(s) failed too; finished units are kept)" if others else ""
            raise SosbenchError(f"{first_input.error}{more}")
        names = ", ".join(f.job.key() for f in failures[:5]) + (" ..." if len(failures) > 5 else "")
        raise SosbenchError(
            f"{len(failures)} unit(s) failed after retries ({names}; first error: {failures[0].error}): "
            "finished units are kept, rerun the same command to redo the rest"
        )
    return manifests


def _previous_or_new(
    run_dir: RunDir,
    config: RunConfig,
    digest: str,
    benches: list[Benchmark],
    todo_benches: tuple[Benchmark, ...] = (),
) -> Manifest:
    """Keep the earlier manifest's timings when resuming; extend its benchmark list."""
    fresh = _manifest(config, digest, benches)
    old = run_dir.read_manifest() if run_dir.manifest.exists() else None
    if old is None or old.config_hash != digest:
        run_dir.write_manifest(fresh)
        return fresh
    # Finished benchmarks keep the record of where their data came from; those run now get this attempt's
    # (plan() checked that the revisions agree).
    datasets = {**(fresh.datasets or {}), **(old.datasets or {}), **_datasets(config, todo_benches)}
    resumed = old.model_copy(
        update={
            "benchmarks": list(dict.fromkeys((old.benchmarks or []) + (fresh.benchmarks or []))),
            "datasets": datasets,
            # --model-name on a resume renames the run (a label: results do not change)
            "model_name": fresh.model_name if config.model_name else old.model_name,
            "finished": None,
        }
    )
    run_dir.write_manifest(resumed)
    return resumed
