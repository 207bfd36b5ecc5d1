"""What every executor provides: run jobs, report each start, finish and failure, retry failures.

The retry rule is one helper, ``RetryPolicy``, shared by every executor: a failed unit (an exception,
a worker or array task that died) is run again up to ``retries`` times, and an input error (a
``SosbenchError``: an unknown model type, a missing dataset, an endpoint without logprobs) never is,
because every attempt would fail the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sosbench.errors import SosbenchError
from sosbench.run._units import INPUT_ERROR, Job


@dataclass(frozen=True)
class ExecutorOptions:
    """What `sosbench run` hands every executor's factory; each executor reads the options it has."""

    output: Path
    """The run folder (or the parent of one folder per model); an executor may keep its own files in it."""
    retries: int = 1
    ray_address: str | None = None
    gpus_per_unit: float | None = None
    """GPUs each Ray unit asks for; None: 1 where CUDA is available, else 0."""
    cpus_per_unit: float = 1.0
    slurm_partition: str | None = None
    slurm_time_min: int = 24 * 60
    slurm_gpus: int = 1
    slurm_max_parallel: int | None = None


@dataclass(frozen=True)
class Events:
    """Callbacks an executor calls in the driving process (progress display, merging, the manifest)."""

    started: Callable[[Job], None]
    finished: Callable[[Job, dict[str, Any]], None]
    failed: Callable[[Job, str, bool], None]
    """Called with the error and whether the job will be retried."""


@dataclass(frozen=True)
class Failure:
    """A job that still failed after its retries (or at once, for an input error)."""

    job: Job
    error: str
    input_error: bool = False


class Executor(Protocol):
    @property
    def name(self) -> str:
        """The --executor value that selects it."""
        ...

    def check(self) -> None:
        """Fail fast, before any unit starts, when the executor's optional package is missing."""
        ...

    def run(self, jobs: Sequence[Job], events: Events) -> list[Failure]:
        """Run every job (finished units are skipped by the worker); return those that failed for good."""
        ...


ExecutorFactory = Callable[[ExecutorOptions], Executor]
"""What the executor registry holds: builds an executor from the run's options (e.g. ``from_options``)."""


def one_line(exc: BaseException) -> str:
    """The last line of an error, which is what tells the user what went wrong."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[-1] if text else ''}"


def is_input_error(error: BaseException) -> bool:
    """A ``SosbenchError``, raised here or carried by a Ray task error (its ``cause``)."""
    return isinstance(error, SosbenchError) or isinstance(getattr(error, "cause", None), SosbenchError)


def error_line(error: BaseException) -> str:
    """What the user reads: an input error's own line, else the error's type and last line."""
    cause = getattr(error, "cause", None)
    if isinstance(error, SosbenchError):
        return str(error)
    if isinstance(cause, SosbenchError):
        return str(cause)
    return one_line(error)


@dataclass(frozen=True)
class RetryPolicy:
    """The one retry rule of every executor: retry a failed unit ``retries`` times, an input error never."""

    retries: int

    def settle(
        self,
        job: Job,
        attempt: int,
        events: Events,
        failures: list[Failure],
        *,
        info: dict[str, Any] | None = None,
        error: BaseException | str | None = None,
    ) -> bool:
        """Report how attempt ``attempt`` (0 = first) of ``job`` ended; True when it must run again.

        ``info`` is the worker's result (which may carry an input error), ``error`` what the attempt
        raised (or its text, where only text comes back). A job that is not retried and failed is
        appended to ``failures``.
        """
        if error is not None:
            message = error if isinstance(error, str) else error_line(error)
            input_error = not isinstance(error, str) and is_input_error(error)
        elif info is not None and INPUT_ERROR in info:
            message, input_error = str(info[INPUT_ERROR]), True
        elif info is not None:
            events.finished(job, info)
            return False
        else:
            message, input_error = "the unit returned no result", False
        retry = not input_error and attempt < self.retries
        events.failed(job, message, retry)
        if not retry:
            failures.append(Failure(job, message, input_error))
        return retry
