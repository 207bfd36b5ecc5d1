"""Units of work: one benchmark of one model, or one item shard of a large benchmark.

A unit is the smallest piece an executor schedules and the smallest piece a resume skips. Shards
split a benchmark's items by doc index (item ``i`` of every task goes to shard ``i % n``), so each
shard holds a spread of the benchmark's categories and all shards take about the same time.
"""

from __future__ import annotations

from dataclasses import dataclass

from sosbench.errors import SosbenchError
from sosbench.run._config import RunConfig
from sosbench.rundir import shard_name
from sosbench.suite import Benchmark


@dataclass(frozen=True)
class Unit:
    """One benchmark (``shards == 1``) or shard ``shard`` of ``shards`` of it."""

    benchmark: str
    shard: int = 0
    shards: int = 1

    @property
    def sharded(self) -> bool:
        return self.shards > 1

    @property
    def folder_name(self) -> str:
        return shard_name(self.shard, self.shards)

    def key(self) -> str:
        """A readable id for progress lines and error messages (``bbq`` or ``bbq[1-of-4]``)."""
        return f"{self.benchmark}[{self.folder_name}]" if self.sharded else self.benchmark


# The key of a worker's result that carries an input error: a worker returns it instead of raising, so it
# reaches the driver the same way from this process, a Ray actor or a Slurm array task (whose exceptions
# arrive only as text), and no executor retries it.
INPUT_ERROR = "input_error"
# The key that carries any other failure of one unit, where several units share a process and one unit's
# exception must not end the others (a Slurm array task runs all units of its model): retried as usual.
ERROR = "error"


def one_line(exc: BaseException) -> str:
    """The last line of an error, which is what tells the user what went wrong."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[-1] if text else ''}"


@dataclass(frozen=True)
class Job:
    """A unit of one model's run: what an executor ships to a worker (picklable)."""

    config: RunConfig
    unit: Unit
    config_hash: str

    def key(self) -> str:
        return f"{self.config.display_name()}:{self.unit.key()}"


def shard_count(bench: Benchmark, shards: int | None, executor: str) -> int:
    """How many shards a benchmark gets.

    Only benchmarks the registry marks as shardable (``shards`` > 1 in the suite file) are split.
    ``--shards N`` sets N for all of them; without it, distributed executors use the registry's
    default and the local executor runs each benchmark whole (one model load, nothing to spread).
    """
    if bench.shards <= 1 or bench.engine != "lm-eval":
        return 1
    if shards is not None:
        if shards < 1:
            raise SosbenchError(f"--shards must be at least 1, not {shards}")
        return shards
    return 1 if executor == "local" else bench.shards


def units_of(bench: Benchmark, count: int) -> list[Unit]:
    return [Unit(bench.name, k, count) for k in range(count)] if count > 1 else [Unit(bench.name)]


def shard_doc_ids(n_docs: int, unit: Unit) -> list[int]:
    """The doc indices of the first ``n_docs`` items that belong to ``unit``."""
    return list(range(unit.shard, n_docs, unit.shards))
