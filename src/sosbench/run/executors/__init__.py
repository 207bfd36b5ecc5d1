"""Executors: where a run's units execute (this process, Ray tasks, or Slurm job arrays).

Ray and submitit are imported only when their executor runs, so both stay optional extras.
"""

from sosbench.run.executors._base import EXECUTORS, INPUT_ERROR, Events, Executor, Failure, RetryPolicy
from sosbench.run.executors._local import LocalExecutor
from sosbench.run.executors._ray import RayExecutor
from sosbench.run.executors._slurm import SlurmExecutor

__all__ = [
    "EXECUTORS",
    "INPUT_ERROR",
    "Events",
    "Executor",
    "Failure",
    "LocalExecutor",
    "RayExecutor",
    "RetryPolicy",
    "SlurmExecutor",
]
