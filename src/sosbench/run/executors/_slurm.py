"""The Slurm executor: units go out as submitit job arrays, one array task per unit.

``local=True`` uses submitit's LocalExecutor (the same pickled jobs, run as local processes), which
is how the tests exercise this path without a cluster. Failed array tasks are resubmitted as a new,
smaller array, up to ``retries`` times.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sosbench.errors import MissingExtraError
from sosbench.run._units import Job
from sosbench.run._worker import run_job
from sosbench.run.executors._base import Events, Failure, one_line

POLL_SECONDS = 1.0


def import_submitit() -> Any:
    try:
        import submitit
    except ImportError:
        raise MissingExtraError("submitit", "slurm") from None
    return submitit


@dataclass(frozen=True)
class SlurmExecutor:
    folder: Path
    partition: str | None = None
    time_min: int = 24 * 60
    gpus_per_unit: int = 1
    cpus_per_unit: int = 8
    max_parallel: int | None = None
    local: bool = False
    retries: int = 1
    name: str = "slurm"

    def _executor(self, submitit: Any) -> Any:
        if self.local:
            ex = submitit.LocalExecutor(folder=str(self.folder))
            ex.update_parameters(timeout_min=self.time_min, gpus_per_node=self.gpus_per_unit)
            return ex
        ex = submitit.AutoExecutor(folder=str(self.folder), cluster="slurm")
        params: dict[str, Any] = {
            "timeout_min": self.time_min,
            "gpus_per_node": self.gpus_per_unit,
            "cpus_per_task": self.cpus_per_unit,
            "name": "sosbench",
        }
        if self.partition:
            params["slurm_partition"] = self.partition
        if self.max_parallel:
            params["slurm_array_parallelism"] = self.max_parallel
        ex.update_parameters(**params)
        return ex

    def check(self) -> None:
        import_submitit()

    def run(self, jobs: Sequence[Job], events: Events) -> list[Failure]:
        submitit = import_submitit()
        executor = self._executor(submitit)
        todo = list(jobs)
        failures: list[Failure] = []
        for attempt in range(self.retries + 1):
            if not todo:
                break
            for job in todo:
                events.started(job)
            handles = executor.map_array(run_job, todo)
            again: list[Job] = []
            for job, error in self._wait(list(zip(todo, handles)), events):
                retry = attempt < self.retries
                events.failed(job, error, retry)
                if retry:
                    again.append(job)
                else:
                    failures.append(Failure(job, error))
            todo = again
        return failures

    def _wait(self, running: list[tuple[Job, Any]], events: Events) -> list[tuple[Job, str]]:
        """Report each array task as it ends; returns the failed ones with their error."""
        failed: list[tuple[Job, str]] = []
        while running:
            still: list[tuple[Job, Any]] = []
            for job, handle in running:
                if not handle.done():
                    still.append((job, handle))
                    continue
                try:
                    info = handle.result()
                except Exception as exc:  # noqa: BLE001 - a raised error or a killed job: retry, then report
                    failed.append((job, one_line(exc)))
                    continue
                events.finished(job, info)
            running = still
            if running:
                time.sleep(POLL_SECONDS)
        return failed
