"""What every executor provides: run jobs, report each start, finish and failure, retry failures."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sosbench.run._units import Job

EXECUTORS = ("local", "ray", "slurm")


@dataclass(frozen=True)
class Events:
    """Callbacks an executor calls in the driving process (progress display, merging, the manifest)."""

    started: Callable[[Job], None]
    finished: Callable[[Job, dict[str, Any]], None]
    failed: Callable[[Job, str, bool], None]
    """Called with the error and whether the job will be retried."""


@dataclass(frozen=True)
class Failure:
    """A job that still failed after its retries."""

    job: Job
    error: str


class Executor(Protocol):
    name: str

    def check(self) -> None:
        """Fail fast, before any unit starts, when the executor's optional package is missing."""
        ...

    def run(self, jobs: Sequence[Job], events: Events) -> list[Failure]:
        """Run every job (finished units are skipped by the worker); return those that failed for good."""
        ...


def one_line(exc: BaseException) -> str:
    """The last line of an error, which is what tells the user what went wrong."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[-1] if text else ''}"
