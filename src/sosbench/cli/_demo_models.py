"""The demo's two models, each a child process running its commands, and one progress line for both.

The time estimates are CPU seconds measured on a 2-core Xeon at the demo's defaults (docs/demo.md): they
order the work and start the clock, and the time left is rescaled by how fast the finished work went.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sosbench.cli._progress import minutes
from sosbench.errors import SosbenchError

POLL_S = 0.5

# Seconds each step takes on one free core at the defaults: the CPU time measured on a 2-core Xeon
# (docs/demo.md). The estimate orders the work and starts the clock: the time left is rescaled by how
# fast the finished work really went.
STEP_SECONDS = {"mirror": 4.0, "convert": 40.0, "noise": 8.0, "judge": 4.0, "score": 3.0, "compare": 4.0}
REPORT_SECONDS = 8.0
ANSWER_SECONDS = 3.0  # one Arena-Hard answer of DEFAULT_TOKENS tokens
BENCHMARK_SECONDS = {  # one model, DEFAULT_LIMIT item per task, DEFAULT_TOKENS new tokens
    "livebench-data-analysis": 12.0,
    "livebench-instruction-following": 17.0,
    "livebench-math": 13.0,
    "livebench-reasoning": 6.5,
    "ifeval": 4.0,
    "math-lvl5": 43.0,
    "musr": 16.0,
    "mmlu-pro": 4.0,
    "bbh": 40.0,
    "bbq": 6.0,
}
OTHER_BENCHMARK_SECONDS = 1.5
STARTUP_SECONDS = 27.0  # the run and the answer processes: imports, model loads, lm-eval's task index


@dataclass
class Clock:
    """The demo's overall estimate: planned seconds per step, rescaled by how fast finished steps went."""

    planned: dict[str, float]
    started: float = field(default_factory=time.monotonic)
    done: dict[str, tuple[float, float]] = field(default_factory=dict)  # step -> (planned, took)

    def total(self) -> float:
        return sum(self.planned.values())

    def finish(self, step: str, took: float) -> None:
        self.done[step] = (self.planned.get(step, 0.0), took)

    def speed(self) -> float:
        """Seconds taken per second planned, over the finished steps that had real work (>= 5 s planned)."""
        worked = [(p, t) for p, t in self.done.values() if p >= 5.0]
        planned = sum(p for p, _ in worked)
        return sum(t for _, t in worked) / planned if planned else 1.0

    def left(self, running: dict[str, float] | None = None) -> float:
        """Seconds left: unfinished steps at the observed speed (``running``: a step's own estimate)."""
        running = running or {}
        rest = sum(
            running.get(step, planned * self.speed())
            for step, planned in self.planned.items()
            if step not in self.done
        )
        return max(0.0, rest)


def shown(args: Sequence[str | Path]) -> str:
    """A command line as a user would type it (paths relative to here where shorter)."""
    words = []
    for arg in args:
        text = str(arg)
        if isinstance(arg, Path):
            try:
                text = str(arg.resolve().relative_to(Path.cwd()))
            except ValueError:
                text = str(arg)
        words.append(shlex.quote(text))
    return "sosbench " + " ".join(words)


@dataclass
class Pipeline:
    """One model's commands (run, then judge answer) in a child process of its own, logged to a file."""

    name: str
    commands: list[list[str | Path]]
    log: Path
    run_dir: Path
    answers: Path
    threads: int | None = None
    """torch threads of the child (OMP_NUM_THREADS), where the pipelines share the cores."""
    process: subprocess.Popen[bytes] | None = None
    handle: IO[str] | None = None
    step: int = 0
    returncode: int | None = None

    def start(self) -> None:
        if self.handle is None:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            self.handle = self.log.open("w", encoding="utf-8")
        argv = [sys.executable, "-m", "sosbench.cli", *(str(a) for a in self.commands[self.step])]
        self.handle.write(f"$ {shown(self.commands[self.step])}\n")
        self.handle.flush()
        env = {**os.environ, **({"OMP_NUM_THREADS": str(self.threads)} if self.threads else {})}
        self.process = subprocess.Popen(argv, stdout=self.handle, stderr=subprocess.STDOUT, env=env)

    def poll(self) -> bool:
        """Advance; True once every command finished (or one failed: ``returncode`` says which)."""
        if self.returncode is not None or self.process is None:
            return True
        code = self.process.poll()
        if code is None:
            return False
        if code != 0:
            self.returncode = code
            return True
        self.step += 1
        if self.step == len(self.commands):
            self.returncode = 0
            return True
        self.start()
        return False

    def error(self) -> str:
        lines = (
            self.log.read_text(encoding="utf-8", errors="replace").splitlines() if self.log.exists() else []
        )
        found = [line[len("error: ") :] for line in lines if line.startswith("error: ")]
        what = found[-1] if found else f"exited {self.returncode}"
        return f"{self.name}: `{shown(self.commands[self.step])}` failed: {what} (log: {self.log})"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.handle is not None:
            self.handle.close()


def _done_benchmarks(run_dir: Path, names: Sequence[str]) -> list[str]:
    from sosbench.rundir import RunDir

    folder = RunDir(run_dir)
    return [n for n in names if folder.done(n).is_file()]


def _answer_count(path: Path) -> int:
    """Answers written so far (0 before the file exists): read the judge's way, a torn last line skipped."""
    from sosbench.judge import read_answers

    try:
        return len(read_answers(path)) if path.is_file() else 0
    except SosbenchError:
        return 0


def pipeline(
    name: str,
    folder: Path,
    names: list[str],
    limit: int | float | None,
    max_tokens: int,
    questions: int,
    mirror: Path,
    runs: Path,
    bench_dir: Path,
    logs: Path,
    parallel: bool,
) -> Pipeline:
    threads = "1" if parallel else "auto"
    run: list[str | Path] = [
        "run", "--model", "sos-hf", "--model-args", f"pretrained={folder},dtype=float32", "--device", "cpu",
        "--model-name", name, "--benchmarks", ",".join(names), "--limit", str(limit),
        "--gen-kwargs", f"max_gen_toks={max_tokens}", "--apply-chat-template", "--data-dir", mirror,
        "--threads", threads, "--output", runs / name,
    ]  # fmt: skip
    answer: list[str | Path] = [
        "judge", "answer", "--model", name, "--hf", folder, "--device", "cpu", "--bench-dir", bench_dir,
        "--limit", str(questions), "--max-tokens", str(max_tokens),
    ]  # fmt: skip
    return Pipeline(
        name,
        [run, answer],
        logs / f"{name}.log",
        runs / name,
        bench_dir / "model_answer" / f"{name}.jsonl",
        threads=1 if parallel else None,
    )


def drive(
    pipelines: list[Pipeline], names: list[str], questions: int, clock: Clock, parallel: bool, console: Any
) -> None:
    """Run the pipelines (together, or one after the other) with one progress line for all of them."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    per_model = len(names) + questions
    expected = {
        **{n: BENCHMARK_SECONDS.get(n, OTHER_BENCHMARK_SECONDS) for n in names},
        "answer": ANSWER_SECONDS,
    }
    started = time.monotonic()
    active = [p for p in pipelines if p.process is not None]  # started early (see `demo`)
    queue = [p for p in pipelines if p.process is None]
    progress = Progress(
        TextColumn("models"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    try:
        with progress:
            task = progress.add_task("starting", total=per_model * len(pipelines))
            while queue or active:
                while queue and (parallel or not active):
                    pipeline = queue.pop(0)
                    pipeline.start()
                    active.append(pipeline)
                for pipeline in list(active):
                    if pipeline.poll():
                        active.remove(pipeline)
                        if pipeline.returncode != 0:
                            raise SosbenchError(pipeline.error())
                counts = {
                    p.name: (_done_benchmarks(p.run_dir, names), min(_answer_count(p.answers), questions))
                    for p in pipelines
                }
                finished = sum(len(b) + a for b, a in counts.values())
                left_work = [
                    sum(expected[n] for n in names if n not in done)
                    + (questions - answered) * expected["answer"]
                    for done, answered in counts.values()
                ]
                done_work = sum(
                    sum(expected[n] for n in done) + answered * expected["answer"]
                    for done, answered in counts.values()
                )
                speed = (time.monotonic() - started) / done_work if done_work > 0 else clock.speed()
                left = (max(left_work) if parallel else sum(left_work)) * speed
                rest = clock.left({"models": left})
                line = " · ".join(f"{n} {len(b) + a}/{per_model}" for n, (b, a) in counts.items())
                progress.update(
                    task, completed=finished, description=f"{line}; about {minutes(rest)} left in all"
                )
                time.sleep(POLL_S)
    finally:
        for pipeline in pipelines:
            pipeline.stop()
    console.print(
        f"both models done in {minutes(time.monotonic() - started)}: runs in "
        f"{pipelines[0].run_dir.parent}/, answers in {pipelines[0].answers.parent}/"
    )
