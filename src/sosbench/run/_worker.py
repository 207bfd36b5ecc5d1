"""Running units of one model in one process: the code every executor ends up calling.

A worker loads its model once and runs every unit of that model it is given: the local executor runs
one per model in this process, a Ray actor holds one, a Slurm array task runs one over its model's units.
A unit is built in a staging folder and renamed into place after its ``done.json`` is written (see
``sosbench.rundir``), so whatever kills a worker, a unit is either finished or absent and a retry or a
rerun redoes only the missing ones.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sosbench._io import append_jsonl, iter_jsonl
from sosbench.errors import SosbenchError
from sosbench.run import _lmeval
from sosbench.run._config import RunConfig
from sosbench.run._units import ERROR, INPUT_ERROR, Job, Unit, one_line
from sosbench.rundir import DoneMarker, RunDir, utc_now
from sosbench.suite import Benchmark, get_benchmark


def unit_dir(output: Path, unit: Unit) -> tuple[RunDir, str]:
    """The folder a unit's files go to: ``DIR/<benchmark>/`` or ``DIR/.shards/<benchmark>/<k>-of-<n>/``."""
    if unit.sharded:
        return RunDir(output).shards(unit.benchmark), unit.folder_name
    return RunDir(output), unit.benchmark


def unit_done(output: Path, unit: Unit, config_hash: str) -> bool:
    folder, name = unit_dir(output, unit)
    return folder.is_done(name, config_hash)


def finished_outcome(job: Job) -> dict[str, Any] | None:
    """The result of a unit that a worker finished before it died (read from its done marker), else None."""
    folder, name = unit_dir(job.config.output, job.unit)
    if not folder.is_done(name, job.config_hash):
        return None
    return {"seconds": folder.read_done(name).seconds or 0.0, "chat_template_sha256": None}


def _chat_template_sha(lm: Any, template: bool | str) -> str | None:
    if not template:
        return None
    try:
        text = lm.chat_template(template)
    except Exception:  # noqa: BLE001 - API models have no local template to hash
        return None
    return hashlib.sha256(text.encode()).hexdigest() if text else None


class ModelWorker:
    """Runs units of one model's run, loading the model once, on first need."""

    def __init__(
        self, config: RunConfig, config_hash: str, benchmarks: list[Benchmark], workdir: Path
    ) -> None:
        self.config = config
        self.config_hash = config_hash
        self.benchmarks = benchmarks
        self.workdir = workdir
        self._lm: Any = None
        self._tasks: tuple[Any, dict[str, list[str]]] | None = None

    def prepare(self) -> tuple[Any, dict[str, list[str]]]:
        """Load the model and index the tasks (once); an unknown model fails here, before any unit starts."""
        if self._lm is None:
            if any(b.needs_punkt_tab for b in self.benchmarks):
                from sosbench.livebench import ensure_punkt_tab

                # IFEval's sentence counter needs NLTK punkt_tab, which NLTK cannot fetch offline
                ensure_punkt_tab()
            self._lm = _lmeval.make_model(self.config)
        if self._tasks is None:
            self._tasks = _lmeval.prepare_tasks(self.benchmarks, self.config, self.workdir)
        return self._tasks

    def run(self, unit: Unit) -> dict[str, Any]:
        """Run one unit unless it is already finished; returns its seconds and the chat template's hash."""
        if unit_done(self.config.output, unit, self.config_hash):
            return {"seconds": 0.0, "chat_template_sha256": None}
        bench = get_benchmark(unit.benchmark)
        if bench not in self.benchmarks:
            raise SosbenchError(f"unit {unit.key()} is not part of this worker's benchmarks")
        manager, specs = self.prepare()
        folder, name = unit_dir(self.config.output, unit)
        started = time.monotonic()
        staging = folder.start(name)
        _lmeval.evaluate(
            self._lm, bench, self.config, manager, specs[bench.name], staging, unit if unit.sharded else None
        )
        if bench.engine == "livebench":
            _finalize_livebench(bench, self.config, staging)
        seconds = round(time.monotonic() - started, 3)
        marker = DoneMarker(
            benchmark=bench.name,
            config_hash=self.config_hash,
            seconds=seconds,
            finished=utc_now(),
            shard=unit.shard if unit.sharded else None,
            shards=unit.shards if unit.sharded else None,
        )
        folder.finish(name, marker)
        sha = _chat_template_sha(self._lm, _lmeval.uses_chat_template(bench, self.config))
        return {"seconds": seconds, "chat_template_sha256": sha}


@contextmanager
def model_worker(config: RunConfig, config_hash: str, benchmarks: list[Benchmark]) -> Iterator[ModelWorker]:
    """A worker with a scratch folder for the task files it writes (removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix="sosbench-tasks-") as workdir:
        yield ModelWorker(config, config_hash, benchmarks, Path(workdir))


def run_unit(worker: ModelWorker, unit: Unit) -> dict[str, Any]:
    """``worker.run(unit)``, with an input error returned as ``{"input_error": message}`` instead of raised.

    submitit hands a raised error to the driver only as text, and the driver must know not to retry it
    (executors.RetryPolicy), so every worker outside this process returns it.
    """
    try:
        return worker.run(unit)
    except SosbenchError as exc:
        return {INPUT_ERROR: str(exc)}


def run_job(job: Job) -> dict[str, Any]:
    """One unit in a fresh worker (loads the model): for an executor that ships units one by one."""
    with model_worker(job.config, job.config_hash, [get_benchmark(job.unit.benchmark)]) as worker:
        return run_unit(worker, job.unit)


def run_units(jobs: Sequence[Job], journal: Path | None = None) -> list[dict[str, Any]]:
    """Units of one model in this process, the model loaded once: what a Slurm array task runs.

    Each unit's outcome is its own (a result, ``{"input_error": ...}`` or ``{"error": ...}``): one unit
    that fails does not stop the others. With a ``journal``, a line is appended (durably) as each unit
    starts and ends, so the driver sees each unit as it finishes and, if this process dies, which unit it
    was running: only that one is lost (``read_journal``).
    """
    benches = [get_benchmark(name) for name in dict.fromkeys(job.unit.benchmark for job in jobs)]
    outcomes: list[dict[str, Any]] = []
    with model_worker(jobs[0].config, jobs[0].config_hash, benches) as worker:
        for job in jobs:
            if journal is not None:
                append_jsonl(journal, [{"unit": job.unit.key()}])
            try:
                outcome = run_unit(worker, job.unit)
            except Exception as exc:  # noqa: BLE001 - one unit's failure is reported, the others still run
                outcome = {ERROR: one_line(exc)}
            if journal is not None:
                append_jsonl(journal, [{"unit": job.unit.key(), "outcome": outcome}])
            outcomes.append(outcome)
    return outcomes


def read_journal(journal: Path) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """The units a ``run_units`` journal shows started (in order) and the outcomes of those that ended."""
    started: list[str] = []
    ended: dict[str, dict[str, Any]] = {}
    if journal.exists():
        for _, row in iter_jsonl(journal, "unit journal", torn_tail_ok=True):
            if "outcome" in row:
                ended[row["unit"]] = row["outcome"]
            else:
                started.append(row["unit"])
    return started, ended


def _finalize_livebench(bench: Benchmark, config: RunConfig, staging: Path) -> None:
    """Score LiveBench answers with sosbench's native scorers and write them beside lm-eval's logs."""
    from sosbench import livebench

    if bench.livebench is None:
        raise SosbenchError(f"benchmark {bench.name!r} has no livebench section in its suite file")
    livebench.finalize_run(
        staging,
        bench.livebench.category,
        config.display_name(),
        protocol=config.protocol,
        sandbox=config.sandbox,
        limits=config.sandbox_limits(),
    )
