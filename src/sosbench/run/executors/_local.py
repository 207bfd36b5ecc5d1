"""The local executor: units run in this process, one model loaded once for all of its units."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby

from sosbench.errors import SosbenchError
from sosbench.run._units import Job
from sosbench.run._worker import ModelWorker, model_worker
from sosbench.run.executors._base import Events, Failure, one_line
from sosbench.suite import get_benchmark


@dataclass(frozen=True)
class LocalExecutor:
    """Runs units in order; a unit that raises is retried in place (the model stays loaded)."""

    retries: int = 1
    name: str = "local"

    def check(self) -> None:
        """Nothing to check: the local executor needs no extra package."""

    def run(self, jobs: Sequence[Job], events: Events) -> list[Failure]:
        failures: list[Failure] = []
        for (config, digest), group in groupby(jobs, key=lambda j: (j.config, j.config_hash)):
            model_jobs = list(group)
            benches = [get_benchmark(name) for name in dict.fromkeys(j.unit.benchmark for j in model_jobs)]
            with model_worker(config, digest, benches) as worker:
                worker.prepare()
                for job in model_jobs:
                    failure = self._run_one(worker, job, events)
                    if failure is not None:
                        failures.append(failure)
        return failures

    def _run_one(self, worker: ModelWorker, job: Job, events: Events) -> Failure | None:
        for attempt in range(self.retries + 1):
            events.started(job)
            try:
                info = worker.run(job.unit)
            except SosbenchError:
                raise  # bad input: every retry would fail the same way
            except Exception as exc:  # noqa: BLE001 - any other failure of a unit is retried, then reported
                retry = attempt < self.retries
                events.failed(job, one_line(exc), retry)
                if not retry:
                    return Failure(job, one_line(exc))
                continue
            events.finished(job, info)
            return None
        return None
