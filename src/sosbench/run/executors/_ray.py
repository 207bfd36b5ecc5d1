"""The Ray executor: each unit is a Ray task that asks for its GPUs, on a local instance or a cluster.

Ray places a task on a node with ``num_gpus`` free GPUs and sets CUDA_VISIBLE_DEVICES for it, so
units of one or many models share every GPU of the cluster. Each task loads its model itself.
Retries are ours rather than Ray's (``max_retries=0``), so a crashed worker and a raised error are
retried the same way (``RetryPolicy``: never an input error) and each retry shows in the progress.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sosbench.errors import MissingExtraError
from sosbench.run._units import Job
from sosbench.run._worker import run_job
from sosbench.run.executors._base import Events, ExecutorOptions, Failure, RetryPolicy


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise MissingExtraError("ray", "ray") from None
    return ray


def default_gpus() -> float:
    """One GPU per unit where this machine has CUDA, else none (CPU-only tests and laptops)."""
    try:
        import torch
    except ImportError:
        return 0.0
    return 1.0 if torch.cuda.is_available() else 0.0


@dataclass(frozen=True)
class RayExecutor:
    address: str | None = None
    gpus_per_unit: float | None = None
    cpus_per_unit: float = 1.0
    retries: int = 1
    name: str = "ray"

    @classmethod
    def from_options(cls, options: ExecutorOptions) -> RayExecutor:
        return cls(
            address=options.ray_address,
            gpus_per_unit=options.gpus_per_unit,
            cpus_per_unit=options.cpus_per_unit,
            retries=options.retries,
        )

    def check(self) -> None:
        import_ray()

    def run(self, jobs: Sequence[Job], events: Events) -> list[Failure]:
        ray = import_ray()
        started_here = not ray.is_initialized()
        if started_here:
            ray.init(address=self.address, log_to_driver=True)
        try:
            return self._run(ray, jobs, events)
        finally:
            if started_here:
                ray.shutdown()

    def _run(self, ray: Any, jobs: Sequence[Job], events: Events) -> list[Failure]:
        gpus = default_gpus() if self.gpus_per_unit is None else self.gpus_per_unit
        task = ray.remote(run_job).options(num_gpus=gpus, num_cpus=self.cpus_per_unit, max_retries=0)
        pending: dict[Any, tuple[Job, int]] = {}

        def submit(job: Job, attempt: int) -> None:
            events.started(job)
            pending[task.remote(job)] = (job, attempt)

        for job in jobs:
            submit(job, 0)
        failures: list[Failure] = []
        policy = RetryPolicy(self.retries)
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                job, attempt = pending.pop(ref)
                try:
                    info = ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - a task error or a dead worker: settled by the policy
                    again = policy.settle(job, attempt, events, failures, error=exc)
                else:
                    again = policy.settle(job, attempt, events, failures, info=info)
                if again:
                    submit(job, attempt + 1)
        return failures
