"""Executors: where a run's units execute (this process, Ray tasks, Slurm job arrays, or a plugin's).

``executors()`` is the one registry of them: ``--executor NAME`` builds ``executors().get(NAME)(options)``.
Adding an executor is a class (``name``, ``check``, ``run``, using ``RetryPolicy``) and one registration,
here or through a ``sosbench.executors`` entry point naming its factory (docs/scale.md).
Ray and submitit are imported only when their executor runs, so both stay optional extras.
"""

import functools

from sosbench._registry import Registry, load_entry_points
from sosbench.run.executors._base import (
    INPUT_ERROR,
    Events,
    Executor,
    ExecutorFactory,
    ExecutorOptions,
    Failure,
    RetryPolicy,
)
from sosbench.run.executors._local import LocalExecutor
from sosbench.run.executors._ray import RayExecutor
from sosbench.run.executors._slurm import SlurmExecutor

ENTRY_POINT_GROUP = "sosbench.executors"


@functools.cache
def executors() -> Registry[ExecutorFactory]:
    """Name -> factory: local, ray and slurm, then plugins' (``sosbench.executors`` entry points)."""
    registry: Registry[ExecutorFactory] = Registry("executor")
    registry.register("local", LocalExecutor.from_options)
    registry.register("ray", RayExecutor.from_options)
    registry.register("slurm", SlurmExecutor.from_options)
    load_entry_points(registry, ENTRY_POINT_GROUP)
    registry.hint = f"use one of {', '.join(registry.names())}"
    return registry


__all__ = [
    "ENTRY_POINT_GROUP",
    "INPUT_ERROR",
    "Events",
    "Executor",
    "ExecutorFactory",
    "ExecutorOptions",
    "Failure",
    "LocalExecutor",
    "RayExecutor",
    "RetryPolicy",
    "SlurmExecutor",
    "executors",
]
