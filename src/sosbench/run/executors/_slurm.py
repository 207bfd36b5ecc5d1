"""The Slurm executor: units go out as submitit job arrays, one array task per unit.

Failed array tasks are resubmitted as a new, smaller array, up to ``retries`` times; input errors are
not (``RetryPolicy``). The tests run the same arrays as local processes by overriding ``_executor``
with submitit's LocalExecutor (tests/test_executors.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sosbench.errors import MissingExtraError
from sosbench.run._units import Job
from sosbench.run._worker import run_job
from sosbench.run.executors._base import Events, ExecutorOptions, Failure, RetryPolicy, one_line

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
    retries: int = 1
    name: str = "slurm"

    @classmethod
    def from_options(cls, options: ExecutorOptions) -> SlurmExecutor:
        """submitit's logs and pickles go to OUTPUT/.submitit."""
        return cls(
            folder=options.output / ".submitit",
            partition=options.slurm_partition,
            time_min=options.slurm_time_min,
            gpus_per_unit=options.slurm_gpus,
            cpus_per_unit=int(options.cpus_per_unit),
            max_parallel=options.slurm_max_parallel,
            retries=options.retries,
        )

    def _executor(self, submitit: Any) -> Any:
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
        policy = RetryPolicy(self.retries)
        attempt = 0
        while todo:
            for job in todo:
                events.started(job)
            handles = executor.map_array(run_job, todo)
            ended = self._wait(list(zip(todo, handles, strict=True)))
            todo = [
                job for job, handle in ended if self._settle(policy, job, attempt, handle, events, failures)
            ]
            attempt += 1
        return failures

    @staticmethod
    def _settle(
        policy: RetryPolicy, job: Job, attempt: int, handle: Any, events: Events, failures: list[Failure]
    ) -> bool:
        """Whether the ended array task ``handle`` of ``job`` is to be submitted again."""
        try:
            info = handle.result()
        except Exception as exc:  # noqa: BLE001 - a raised error or a killed job (submitit gives only its text)
            return policy.settle(job, attempt, events, failures, error=one_line(exc))
        return policy.settle(job, attempt, events, failures, info=info)

    @staticmethod
    def _wait(running: list[tuple[Job, Any]]) -> Iterator[tuple[Job, Any]]:
        """Each array task as it ends (polling submitit, which has no wait-for-any)."""
        while running:
            still: list[tuple[Job, Any]] = []
            for job, handle in running:
                if handle.done():
                    yield job, handle
                else:
                    still.append((job, handle))
            running = still
            if running:
                time.sleep(POLL_SECONDS)
