"""The Ray executor: workers are Ray actors, each holding one model for every unit of it that it is given.

A worker asks for one unit's resources (``gpus_per_unit`` GPUs, ``cpus_per_unit`` CPUs, any custom
``ray_resources``); Ray places it on a node that has them and sets CUDA_VISIBLE_DEVICES. It loads its
model with its first unit, then runs that model's units one at a time as the driver hands them out, so a
model is loaded once per worker, not once per unit. The driver keeps as many workers as the cluster's
resources hold (``ray_workers`` to set the number) and shares them among the models by the units each
has left; a worker whose model has no unit left exits and frees its GPUs for another model's worker.

A worker that dies (its process killed, its node lost) loses only the unit it was running: that attempt
failed, and ``RetryPolicy`` decides as for any failure (retried ``retries`` times, an input error never);
its model gets a new worker while it has units left. Retries are ours rather than Ray's
(``max_restarts=0``, ``max_task_retries=0``), so every failure shows in the progress the same way.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from sosbench.errors import MissingExtraError
from sosbench.run._config import RunConfig
from sosbench.run._units import Job, Unit
from sosbench.run._worker import ModelWorker, run_unit
from sosbench.run.executors._base import Events, ExecutorContext, ExecutorOptions, Failure, RetryPolicy
from sosbench.suite import get_benchmark

REFRESH_SECONDS = 10.0
"""How often the driver looks again at the cluster's size while it waits (a node may join or leave)."""


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


class RayOptions(ExecutorOptions):
    ray_address: str | None = Field(
        None, description="Ray cluster to join (auto, ray://head:10001); default: a local Ray instance."
    )
    gpus_per_unit: float | None = Field(
        None, ge=0, description="GPUs each worker asks for (default: 1 where CUDA is available, else 0)."
    )
    cpus_per_unit: float = Field(1.0, ge=0, description="CPUs each worker asks for.")
    ray_resources: dict[str, float] = Field(
        default_factory=dict,
        description="Custom Ray resources each worker asks for, e.g. {accelerator_type:H100: 0.001}.",
    )
    ray_workers: int | None = Field(
        None,
        ge=1,
        description="Workers at once (default: as many as the cluster's resources hold; set it on an "
        "autoscaling cluster, whose nodes do not exist yet).",
    )


class ModelActor:
    """A worker's body (RayExecutor makes it a Ray actor): one model, loaded on the first unit it runs."""

    def __init__(self, config: RunConfig, config_hash: str, benchmarks: list[str]) -> None:
        self.scratch = Path(tempfile.mkdtemp(prefix="sosbench-tasks-"))
        self.worker = ModelWorker(config, config_hash, [get_benchmark(b) for b in benchmarks], self.scratch)

    def run(self, unit: Unit) -> dict[str, Any]:
        return run_unit(self.worker, unit)

    def close(self) -> None:
        """Remove the scratch folder and end this worker, which frees its GPUs."""
        import ray

        shutil.rmtree(self.scratch, ignore_errors=True)
        ray.actor.exit_actor()


@dataclass
class _ModelQueue:
    """The driver's view of one model: its units not yet handed out and its live workers."""

    benchmarks: list[str]
    todo: deque[tuple[Job, int]] = field(default_factory=deque)
    """Units waiting for a worker, with their attempt number (0 = first)."""
    workers: int = 0


@dataclass(frozen=True)
class RayExecutor:
    address: str | None = None
    gpus_per_unit: float | None = None
    cpus_per_unit: float = 1.0
    resources: dict[str, float] = field(default_factory=dict)
    workers: int | None = None
    retries: int = 1
    name: str = "ray"
    Options: ClassVar[type[ExecutorOptions]] = RayOptions

    @classmethod
    def from_options(cls, context: ExecutorContext, options: RayOptions) -> RayExecutor:
        return cls(
            address=options.ray_address,
            gpus_per_unit=options.gpus_per_unit,
            cpus_per_unit=options.cpus_per_unit,
            resources=dict(options.ray_resources),
            workers=options.ray_workers,
            retries=context.retries,
        )

    def check(self) -> None:
        import_ray()

    def run(self, jobs: Sequence[Job], events: Events) -> list[Failure]:
        ray = import_ray()
        started_here = not ray.is_initialized()
        if started_here:
            ray.init(address=self.address, log_to_driver=True)
        try:
            return _Driver(ray, self, events).run(jobs)
        finally:
            if started_here:
                ray.shutdown()

    def request(self) -> dict[str, float]:
        """The resources one worker asks for, by Ray's names."""
        gpus = default_gpus() if self.gpus_per_unit is None else self.gpus_per_unit
        return {"CPU": self.cpus_per_unit, "GPU": gpus, **self.resources}

    def capacity(self, cluster: dict[str, float]) -> int:
        """How many workers the cluster's resources hold (at least one, which waits for room if none)."""
        if self.workers is not None:
            return self.workers
        fits = [
            int(cluster.get(name, 0.0) / amount + 1e-9) for name, amount in self.request().items() if amount
        ]
        return max(1, min(fits)) if fits else max(1, int(cluster.get("CPU", 1.0)))


class _Driver:
    """One run's scheduling: workers per model, units handed to the workers that hold their model."""

    def __init__(self, ray: Any, executor: RayExecutor, events: Events) -> None:
        self.ray = ray
        self.executor = executor
        self.events = events
        self.policy = RetryPolicy(executor.retries)
        self.failures: list[Failure] = []
        request = executor.request()
        self.actor_class = ray.remote(ModelActor).options(
            num_cpus=request.pop("CPU"),
            num_gpus=request.pop("GPU"),
            resources=request,
            max_restarts=0,
            max_task_retries=0,
        )
        self.models: dict[Path, _ModelQueue] = {}
        self.running: dict[Any, tuple[Any, _ModelQueue, Job, int]] = {}
        """Object ref of a unit in flight -> (its worker, its model, the unit, its attempt)."""

    def run(self, jobs: Sequence[Job]) -> list[Failure]:
        for job in jobs:
            model = self.models.setdefault(job.config.output, _ModelQueue([]))
            model.todo.append((job, 0))
            if job.unit.benchmark not in model.benchmarks:
                model.benchmarks.append(job.unit.benchmark)
        self.add_workers()
        while self.running:
            ready, _ = self.ray.wait(list(self.running), num_returns=1, timeout=REFRESH_SECONDS)
            for ref in ready:
                self.settle(ref)
            self.add_workers()
        return self.failures

    def settle(self, ref: Any) -> None:
        """Settle the unit ``ref`` ran; its worker takes the model's next unit if it is sound.

        A worker whose unit raised is retired rather than trusted with the next one (a CUDA error or an
        out-of-memory can leave its model unusable): the retry, like the model's other units, goes to a
        worker that is sound, a new one if needed. An input error is an answer, not a fault of the worker.
        """
        actor, model, job, attempt = self.running.pop(ref)
        sound = True
        try:
            info = self.ray.get(ref)
        except self.ray.exceptions.RayActorError as exc:  # the worker died: this unit is all it loses
            model.workers -= 1
            self.ray.kill(actor, no_restart=True)
            again = self.policy.settle(job, attempt, self.events, self.failures, error=exc)
            sound = False
        except Exception as exc:  # noqa: BLE001 - the unit raised: settled by the policy, the worker retired
            self.retire(actor, model)
            again = self.policy.settle(job, attempt, self.events, self.failures, error=exc)
            sound = False
        else:
            again = self.policy.settle(job, attempt, self.events, self.failures, info=info)
        if again:
            model.todo.appendleft((job, attempt + 1))
        if sound:
            self.hand_out(actor, model)

    def hand_out(self, actor: Any, model: _ModelQueue) -> None:
        """Give ``actor`` its model's next unit, or retire it when the model has none left."""
        if not model.todo:
            self.retire(actor, model)
            return
        job, attempt = model.todo.popleft()
        self.events.started(job)
        self.running[actor.run.remote(job.unit)] = (actor, model, job, attempt)

    def retire(self, actor: Any, model: _ModelQueue) -> None:
        """End a worker (it frees its GPUs for another worker, of this model or another)."""
        actor.close.remote()
        model.workers -= 1

    def add_workers(self) -> None:
        """Start workers while the cluster has room, each for the model that needs one most."""
        room = self.executor.capacity(self.ray.cluster_resources()) - sum(
            m.workers for m in self.models.values()
        )
        for _ in range(room):
            waiting = [m for m in self.models.values() if m.todo]
            if not waiting:
                return
            # a model without a worker first (each model moves on), then the most units per worker
            model = max(waiting, key=lambda m: (m.workers == 0, len(m.todo) / (m.workers + 1)))
            job = model.todo[0][0]
            actor = self.actor_class.remote(job.config, job.config_hash, model.benchmarks)
            model.workers += 1
            self.hand_out(actor, model)
