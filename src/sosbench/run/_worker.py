"""Running units of one model in one process: the code every executor ends up calling.

A unit is built in a staging folder and renamed into place after its ``done.json`` is written
(see _layout), so whatever kills a worker, a unit is either finished or absent and a retry or a
rerun redoes only the missing ones.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sosbench.errors import SosbenchError
from sosbench.run import _lmeval
from sosbench.run._config import RunConfig
from sosbench.run._layout import RunDir, utc_now
from sosbench.run._units import INPUT_ERROR, Job, Unit, shards_root
from sosbench.suite import Benchmark, get_benchmark


def unit_dir(output: Path, unit: Unit) -> tuple[RunDir, str]:
    """The folder a unit's files go to: ``DIR/<benchmark>/`` or ``DIR/.shards/<benchmark>/<k>-of-<n>/``."""
    if unit.sharded:
        return RunDir(shards_root(output, unit.benchmark)), unit.folder_name
    return RunDir(output), unit.benchmark


def unit_done(output: Path, unit: Unit, config_hash: str) -> bool:
    folder, name = unit_dir(output, unit)
    return folder.is_done(name, config_hash)


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
        if self._tasks is None:
            if any(b.needs_punkt_tab for b in self.benchmarks):
                from sosbench.livebench import ensure_punkt_tab

                # IFEval's sentence counter needs NLTK punkt_tab, which NLTK cannot fetch offline
                ensure_punkt_tab()
            self._lm = _lmeval.make_model(self.config)
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
        marker = {
            "benchmark": bench.name,
            "config_hash": self.config_hash,
            "seconds": seconds,
            "finished": utc_now(),
        }
        if unit.sharded:
            marker.update(shard=unit.shard, shards=unit.shards)
        folder.finish(name, marker)
        sha = _chat_template_sha(self._lm, _lmeval.uses_chat_template(bench, self.config))
        return {"seconds": seconds, "chat_template_sha256": sha}


@contextmanager
def model_worker(config: RunConfig, config_hash: str, benchmarks: list[Benchmark]) -> Iterator[ModelWorker]:
    """A worker with a scratch folder for the task files it writes (removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix="sosbench-tasks-") as workdir:
        yield ModelWorker(config, config_hash, benchmarks, Path(workdir))


def run_job(job: Job) -> dict[str, Any]:
    """One unit in a fresh process (what Ray tasks and Slurm array jobs call).

    An input error comes back as ``{"input_error": message}`` rather than raised: submitit hands a raised
    error to the driver only as text, and the driver must know not to retry it (executors.RetryPolicy).
    """
    try:
        with model_worker(job.config, job.config_hash, [get_benchmark(job.unit.benchmark)]) as worker:
            return worker.run(job.unit)
    except SosbenchError as exc:
        return {INPUT_ERROR: str(exc)}


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
