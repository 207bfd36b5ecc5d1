"""The local executor: units run in this process, one model loaded once for all of its units."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import ClassVar

from sosbench.run._units import Job
from sosbench.run._worker import ModelWorker, model_worker
from sosbench.run.executors._base import Events, ExecutorContext, ExecutorOptions, Failure, RetryPolicy
from sosbench.suite import get_benchmark


@dataclass(frozen=True)
class LocalExecutor:
    """Runs units in order; a unit that raises is retried in place (the model stays loaded).

    A model that cannot be built at all (``prepare``) stops the run at once: each of its units would fail.
    """

    retries: int = 1
    name: str = "local"
    Options: ClassVar[type[ExecutorOptions]] = ExecutorOptions
    """None of its own."""

    @classmethod
    def from_options(cls, context: ExecutorContext, options: ExecutorOptions) -> LocalExecutor:
        return cls(retries=context.retries)

    def check(self) -> None:
        """Nothing to check: the local executor needs no extra package."""

    def run(self, jobs: Sequence[Job], events: Events) -> list[Failure]:
        failures: list[Failure] = []
        policy = RetryPolicy(self.retries)
        for (config, digest), group in groupby(jobs, key=lambda j: (j.config, j.config_hash)):
            model_jobs = list(group)
            benches = [get_benchmark(name) for name in dict.fromkeys(j.unit.benchmark for j in model_jobs)]
            with model_worker(config, digest, benches) as worker:
                worker.prepare()
                for job in model_jobs:
                    self._run_one(worker, job, events, policy, failures)
        return failures

    @staticmethod
    def _run_one(
        worker: ModelWorker, job: Job, events: Events, policy: RetryPolicy, failures: list[Failure]
    ) -> None:
        attempt = 0
        while True:
            events.started(job)
            try:
                info = worker.run(job.unit)
            except Exception as exc:  # noqa: BLE001 - any failure of a unit is settled by the shared policy
                again = policy.settle(job, attempt, events, failures, error=exc)
            else:
                again = policy.settle(job, attempt, events, failures, info=info)
            if not again:
                return
            attempt += 1
