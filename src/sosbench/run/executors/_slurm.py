"""The Slurm executor: a submitit job array with one array task per model, which runs that model's units.

An array task loads its model once and runs its units one after the other (``run_units``), each settled
on its own: a unit that fails does not stop the others. The task journals each unit as it starts and
ends (``OUTPUT/.submitit/units-*.jsonl``), so the driver reports units as they finish, merges shards as
soon as they are complete, and, when a task dies (killed, out of memory, out of time), knows which unit
it was running: only that one is lost. Units it never started go out again as they were; failed units
are resubmitted, one array task per model again, up to ``retries`` times, and input errors never
(``RetryPolicy``). The tests run the same arrays as local processes by overriding ``_executor`` with
submitit's LocalExecutor (tests/run/test_executors.py).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from sosbench.errors import MissingExtraError
from sosbench.run._units import ERROR, Job, one_line
from sosbench.run._worker import read_journal, run_units
from sosbench.run.executors._base import (
    Events,
    ExecutorContext,
    ExecutorOptions,
    Failure,
    RetryPolicy,
)
from sosbench.rundir import RunDir

POLL_SECONDS = 1.0
Attempt = tuple[Job, int]
"""A unit and its attempt number (0 = first)."""


def import_submitit() -> Any:
    try:
        import submitit
    except ImportError:
        raise MissingExtraError("submitit", "slurm") from None
    return submitit


class SlurmOptions(ExecutorOptions):
    slurm_partition: str | None = Field(None, description="Slurm partition for the job arrays.")
    slurm_time: int = Field(24 * 60, ge=1, description="Time limit of each array task, in minutes.")
    slurm_gpus: int = Field(1, ge=0, description="GPUs per array task.")
    cpus_per_unit: int = Field(1, ge=1, description="CPUs per array task.")
    slurm_max_parallel: int | None = Field(None, ge=1, description="At most this many array tasks at once.")


def by_model(attempts: Iterable[Attempt]) -> list[list[Attempt]]:
    """Attempts grouped by model run (its output folder), in first-seen order."""
    groups: dict[Path, list[Attempt]] = {}
    for job, attempt in attempts:
        groups.setdefault(job.config.output, []).append((job, attempt))
    return list(groups.values())


@dataclass(frozen=True)
class SlurmExecutor:
    folder: Path
    partition: str | None = None
    time_min: int = 24 * 60
    gpus_per_task: int = 1
    cpus_per_task: int = 1
    max_parallel: int | None = None
    retries: int = 1
    name: str = "slurm"
    Options: ClassVar[type[ExecutorOptions]] = SlurmOptions

    @classmethod
    def from_options(cls, context: ExecutorContext, options: SlurmOptions) -> SlurmExecutor:
        """submitit's logs and pickles go to OUTPUT/.submitit."""
        return cls(
            folder=RunDir(context.output).submitit,
            partition=options.slurm_partition,
            time_min=options.slurm_time,
            gpus_per_task=options.slurm_gpus,
            cpus_per_task=options.cpus_per_unit,
            max_parallel=options.slurm_max_parallel,
            retries=context.retries,
        )

    def _executor(self, submitit: Any) -> Any:
        ex = submitit.AutoExecutor(folder=str(self.folder), cluster="slurm")
        params: dict[str, Any] = {
            "timeout_min": self.time_min,
            "gpus_per_node": self.gpus_per_task,
            "cpus_per_task": self.cpus_per_task,
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
        policy = RetryPolicy(self.retries)
        failures: list[Failure] = []
        todo: list[Attempt] = [(job, 0) for job in jobs]
        token = uuid.uuid4().hex[:8]
        round_ = 0
        while todo:
            groups = by_model(todo)
            journals = [self.folder / f"units-{token}-{round_}-{i}.jsonl" for i in range(len(groups))]
            handles = executor.map_array(run_units, [[job for job, _ in g] for g in groups], journals)
            tasks = [_Task(g, h, j) for g, h, j in zip(groups, handles, journals, strict=True)]
            todo = []
            while tasks:
                still = []
                for task in tasks:
                    ended = task.handle.done()  # before the journal is read: an ended task's journal is whole
                    todo += task.follow(policy, events, failures)
                    if ended:
                        todo += task.end(policy, events, failures)
                    else:
                        still.append(task)
                tasks = still
                if tasks:
                    time.sleep(POLL_SECONDS)
            round_ += 1
        return failures


@dataclass
class _Task:
    """One array task as the driver follows it: its model's units, its handle, its journal."""

    attempts: list[Attempt]
    handle: Any
    journal: Path
    started: set[str] = field(default_factory=set)
    settled: set[str] = field(default_factory=set)

    def follow(self, policy: RetryPolicy, events: Events, failures: list[Failure]) -> list[Attempt]:
        """Report the units the journal shows started or ended since last time; return those to rerun."""
        started, ended = read_journal(self.journal)
        again = []
        for job, attempt in self.attempts:
            key = job.unit.key()
            if key in started and key not in self.started:
                self.started.add(key)
                events.started(job)
            if key in ended and key not in self.settled:
                self.settled.add(key)
                if policy.settle(job, attempt, events, failures, info=ended[key]):
                    again.append((job, attempt + 1))
        return again

    def end(self, policy: RetryPolicy, events: Events, failures: list[Failure]) -> list[Attempt]:
        """Settle what the ended task left unsettled: it died, so its unit in flight failed and the units it
        never started go out again unchanged (all of them fail if it died before starting any)."""
        keys = [job.unit.key() for job, _ in self.attempts]
        lost: dict[str, Any] = {}
        try:
            outcomes = dict(zip(keys, self.handle.result(), strict=True))
        except Exception as exc:  # noqa: BLE001 - a killed task: submitit gives only its text
            outcomes, lost = {}, {ERROR: one_line(exc)}
        again = []
        for job, attempt in self.attempts:
            key = job.unit.key()
            if key in self.settled:
                continue
            if key in outcomes:
                outcome = outcomes[key]
            elif key in self.started or not self.started:
                outcome = lost
            else:
                again.append((job, attempt))
                continue
            if policy.settle(job, attempt, events, failures, info=outcome):
                again.append((job, attempt + 1))
        return again
