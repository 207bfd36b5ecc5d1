"""Progress of a run's units on the terminal: counts, a live bar for executors that run units at once,
one plan line, and the time left estimated from the units finished."""

from __future__ import annotations

import time
from typing import Any

from sosbench.cli._common import plural


class UnitProgress:
    """Counts of units done, running and failed, printed as each unit starts or ends."""

    def __init__(self, console: Any, live: bool, several_models: bool) -> None:
        self.console = console
        self.live = live
        self.several_models = several_models
        self.total = 0
        self.done = self.failed = self.retried = 0
        self.running: set[str] = set()
        self.bar: Any = None
        self.models: list[str] = []
        self.benchmarks: dict[str, None] = {}
        self.finished_before = 0
        self.eta = _Eta()

    def planned(self, config: Any, the_plan: Any) -> None:
        """Count the model's units and say which benchmarks an earlier run already finished."""
        self.total += len(the_plan.units)
        self.models.append(config.display_name())
        self.benchmarks.update(dict.fromkeys(config.benchmarks))
        self.finished_before += len(the_plan.done)
        self.eta.plan(unit.key() for unit in the_plan.units)
        if the_plan.done:
            where = f" in {config.output}" if self.several_models else ""
            names = ", ".join(b.name for b in the_plan.done)
            self.console.print(f"{len(the_plan.done)} already finished{where} (skipped): {names}")

    def _start_bar(self) -> None:
        """The live bar starts with the first unit: errors found before that stay one line."""
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(
            TextColumn("units"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=self.console,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self.task = self.bar.add_task(self._counts(), total=self.total)
        self.bar.start()

    def _counts(self) -> str:
        left = self.eta.left()
        eta = f"; about {minutes(left)} left" if left is not None and self.done < self.total else ""
        counts = (
            f"{self.done} done, {len(self.running)} running, {self.failed} failed, {self.retried} retried"
        )
        return counts + eta

    def plan_line(self) -> None:
        """One line before the first unit: what the whole run will do, across models."""
        before = f" ({self.finished_before} already finished)" if self.finished_before else ""
        self.console.print(
            f"plan: {plural(len(self.models), 'model')} x {plural(len(self.benchmarks), 'benchmark')}, "
            f"{plural(self.total, 'unit')} to run{before}, in this order: {', '.join(self.benchmarks)}; "
            "the time left is estimated from the units finished"
        )

    def note(self, line: str) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=self.done, description=self._counts())
            self.bar.console.print(line)
        else:
            self.console.print(f"{line}  [dim]({self._counts()}, {self.total} units)[/]")

    def started(self, job: Any) -> None:
        if not self.eta.started:
            self.plan_line()
        self.eta.start(job.unit.key())
        self.running.add(job.key())
        if self.live and self.bar is None:
            self._start_bar()
        if self.bar is None:
            self.console.rule(f"[bold]{job.unit.key()}[/] ({job.config.display_name()})")
        else:
            self.note(f"started {job.key()}")

    def finished(self, job: Any, info: dict[str, Any]) -> None:
        self.running.discard(job.key())
        self.done += 1
        self.eta.finish(job.unit.key(), float(info.get("seconds", 0.0)))
        self.note(f"[green]done[/] {job.key()} in {info.get('seconds', 0.0):.1f} s")

    def unit_failed(self, job: Any, error: str, retry: bool) -> None:
        self.running.discard(job.key())
        if not retry:
            self.eta.finish(job.unit.key(), None)
        if retry:
            self.retried += 1
        else:
            self.failed += 1
        self.note(f"[red]failed[/] {job.key()}: {error}" + (" (retrying)" if retry else ""))


class _Eta:
    """The time a run has left: each unit still to run is expected to take what the same unit (benchmark
    and shard) took for an earlier model, else the mean of the units finished so far."""

    def __init__(self) -> None:
        self.todo: list[str] = []
        self.took: dict[str, float] = {}
        self.seconds: list[float] = []
        self.started = False
        self.clock = time.monotonic()

    def plan(self, keys: Any) -> None:
        self.todo.extend(keys)

    def start(self, key: str) -> None:
        if not self.started:
            self.started, self.clock = True, time.monotonic()

    def finish(self, key: str, seconds: float | None) -> None:
        if key in self.todo:
            self.todo.remove(key)
        if seconds is not None:
            self.took.setdefault(key, seconds)
            self.seconds.append(seconds)

    def left(self) -> float | None:
        if not self.seconds:
            return None
        mean = sum(self.seconds) / len(self.seconds)
        return sum(self.took.get(key, mean) for key in self.todo)


def minutes(seconds: float) -> str:
    """A duration as people say it: seconds under 90 s, then minutes (whole ones from 10 minutes)."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min" if seconds < 600 else f"{seconds / 60:.0f} min"
