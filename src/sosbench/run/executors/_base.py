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

from pydantic import BaseModel, ConfigDict

from sosbench.errors import SosbenchError
from sosbench.run._units import ERROR, INPUT_ERROR, Job, one_line


@dataclass(frozen=True)
class ExecutorContext:
    """What `sosbench run` hands every executor, whatever its own options."""

    output: Path
    """The run folder (or the parent of one folder per model); an executor may keep its own files in it."""
    retries: int = 1


class ExecutorOptions(BaseModel):
    """The options of one executor: each executor declares its own as a subclass (its ``Options``).

    A field is one option, set with ``--executor-option NAME=VALUE`` (a YAML value) or, for the options
    sosbench gives a flag, ``--NAME`` with dashes (``ray_address`` is ``--ray-address``). An unknown name
    is refused; a field's ``description`` documents it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)


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


class ExecutorType(Protocol):
    """What the executor registry holds: an executor class, which declares its options and builds itself."""

    @property
    def Options(self) -> type[ExecutorOptions]:
        """The executor's own options (an ``ExecutorOptions`` subclass; the base itself when it has none)."""
        ...

    def from_options(self, context: ExecutorContext, options: Any) -> Executor:
        """The executor for a run, from the run's context and its ``Options`` (a classmethod)."""
        ...


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

        ``info`` is the worker's result (which may carry an input error or another error of the unit),
        ``error`` what the attempt raised (or its text, where only text comes back). A job that is not
        retried and failed is appended to ``failures``.
        """
        if error is not None:
            message = error if isinstance(error, str) else error_line(error)
            input_error = not isinstance(error, str) and is_input_error(error)
        elif info is not None and INPUT_ERROR in info:
            message, input_error = str(info[INPUT_ERROR]), True
        elif info is not None and ERROR in info:
            message, input_error = str(info[ERROR]), False
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
