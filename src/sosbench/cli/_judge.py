"""`sosbench judge`: Arena-Hard-Auto v0.1 and v2.0 answers, judgments, scores, interventions and the audit.

The work lives in ``sosbench.judge``; these commands parse options, call it and print."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import math
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sosbench._io import write_text_atomic
from sosbench.cli._common import console_err
from sosbench.errors import SosbenchError

if TYPE_CHECKING:
    from sosbench.judge import BenchDir, CallStats, EndpointConfig, JudgeTemplate, Leaderboard

judge_app = typer.Typer(
    name="judge",
    help="The LLM judge (Arena-Hard-Auto v0.1 and v2.0): answer, run, score, perturb, audit. "
    "See docs/judge.md.",
    no_args_is_help=True,
)

DEFAULT_BENCH = Path("arena-hard-v0.1")
DEFAULT_BASELINE = "gpt-4-0314"
# A judgment of the SOS multi-criteria template runs to ~500-800 tokens; the dry run assumes this many.
DEFAULT_COMPLETION_TOKENS = 700

BenchDirOption = Annotated[
    Path | None,
    typer.Option(
        "--bench-dir",
        "-d",
        help="Bench folder in Arena-Hard-Auto's layout (question.jsonl, model_answer/, model_judgment/); "
        "default ./<benchmark>. Missing questions and baseline answers are read from the packaged copies "
        "(v0.1: gpt-4-0314, gpt-4-0613, gpt-3.5-turbo-0125; v2.0: o3-mini-2025-01-31).",
        envvar="SOSBENCH_BENCH_DIR",
    ),
]
BenchmarkOption = Annotated[
    str | None,
    typer.Option(
        "--benchmark",
        "-b",
        help="arena-hard-v0.1 or arena-hard-v2.0 (default: what the folder's files are, else v0.1).",
        envvar="SOSBENCH_JUDGE_BENCHMARK",
    ),
]
CategoryOption = Annotated[
    list[str] | None,
    typer.Option(
        "--category",
        help="arena-hard-v2.0 only: hard_prompt or creative_writing (repeatable or comma-separated; "
        "default: every category whose baseline answers are there).",
        envvar="SOSBENCH_JUDGE_CATEGORY",
    ),
]
Limit = Annotated[
    int | None,
    typer.Option(
        "--limit",
        help="Only the first N questions (for trying things out).",
        envvar="SOSBENCH_JUDGE_LIMIT",  # an int here, a float (fraction) for `sosbench run`: not shared
    ),
]
Parallel = Annotated[
    int,
    typer.Option("--parallel", "-p", help="Requests in flight at once.", envvar="SOSBENCH_JUDGE_PARALLEL"),
]
Timeout = Annotated[
    float,
    typer.Option(
        "--timeout",
        help="Seconds a whole request may take; then it is cancelled (its connection closed), counted "
        "and retried.",
        envvar="SOSBENCH_JUDGE_TIMEOUT",
    ),
]
MaxRetries = Annotated[
    int,
    typer.Option(
        "--max-retries",
        help="Retries of a request after 429, 5xx, timeouts and dropped connections.",
        envvar="SOSBENCH_JUDGE_MAX_RETRIES",
    ),
]
Backoff = Annotated[
    float,
    typer.Option(
        "--backoff",
        help="First retry waits up to this many seconds (doubling, full jitter, capped at 60 s; at least "
        "Retry-After, itself capped at 60 s).",
        envvar="SOSBENCH_JUDGE_BACKOFF",
    ),
]
Baseline = Annotated[
    str | None,
    typer.Option(
        "--baseline",
        help=f"arena-hard-v0.1: the model every answer is compared with (scores 50; default "
        f"{DEFAULT_BASELINE}). v2.0 fixes one per category.",
        envvar="SOSBENCH_JUDGE_BASELINE",
    ),
]
JudgeBaseUrl = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        help="OpenAI-compatible endpoint of the judge (default: $OPENAI_BASE_URL or api.openai.com).",
        envvar="SOSBENCH_JUDGE_BASE_URL",
    ),
]
JudgeApiKey = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        help="API key of the judge endpoint (default: $OPENAI_API_KEY).",
        envvar="SOSBENCH_JUDGE_API_KEY",
    ),
]
# `judge perturb` calls the rewriter, not the judge: its own help, the same variables (docs/judge.md).
RewriterBaseUrl = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        help="OpenAI-compatible endpoint serving the rewriter model "
        "(default: $OPENAI_BASE_URL or api.openai.com).",
        envvar="SOSBENCH_JUDGE_BASE_URL",
    ),
]
RewriterApiKey = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        help="API key of the rewriter's endpoint (default: $OPENAI_API_KEY).",
        envvar="SOSBENCH_JUDGE_API_KEY",
    ),
]

EXAMPLES = """
Examples (a full pass; files use Arena-Hard-Auto's layouts under --bench-dir):

  sosbench judge answer --model my-model --base-url http://localhost:8000/v1 --api-key none -d arena

  sosbench judge run --judge gpt-4o-mini-2024-07-18 -t sos-multicriteria --models my-model -d arena --dry-run

  sosbench judge run --judge gpt-4o-mini-2024-07-18 -t sos-multicriteria --models my-model,gpt-4-0613 -d arena

  sosbench judge score --judgments arena/model_judgment/gpt-4o-mini-2024-07-18 --criterion all

  sosbench judge perturb --kind sarcastic --model my-model --rewriter gpt-4o-2024-08-06 -d arena

  sosbench judge audit --judgments arena/model_judgment/gpt-4o-mini-2024-07-18 --output audit.json

Arena-Hard-Auto v2.0 (hard_prompt against o3-mini-2025-01-31; creative_writing once you add gemini answers):

  sosbench judge answer -b arena-hard-v2.0 --model my-model --base-url http://localhost:8000/v1 --api-key none

  sosbench judge run -b arena-hard-v2.0 --judge gpt-4.1 --models my-model

  sosbench judge score --judgments arena-hard-v2.0/model_judgment/gpt-4.1
"""


# ------------------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------------------
def _split(values: list[str] | None) -> list[str]:
    """Repeatable options that also accept comma-separated lists, order kept, duplicates dropped."""
    out: list[str] = []
    for value in values or []:
        out += [v.strip() for v in value.split(",") if v.strip() and v.strip() not in out]
    return out


def _endpoint(
    model: str,
    base_url: str | None,
    api_key: str | None,
    parallel: int,
    timeout: float,
    max_retries: int,
    backoff: float,
) -> EndpointConfig:
    from sosbench.judge import EndpointConfig

    if parallel < 1:
        raise SosbenchError("--parallel must be at least 1")
    if timeout <= 0 or max_retries < 0 or backoff < 0:
        raise SosbenchError("--timeout must be positive, --max-retries and --backoff not negative")
    return EndpointConfig(model, base_url, api_key, timeout, max_retries, backoff, 60.0, parallel)


@contextlib.contextmanager
def _progress(label: str, total: int | None = None) -> Iterator[Callable[[int, bool], None]]:
    """A progress bar on stderr; ``step(n, False)`` advances it, ``step(n, True)`` sets its total."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console_err(),
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=total)

        def step(n: int, is_total: bool = False) -> None:
            if is_total:
                progress.update(task, total=n)
            else:
                progress.advance(task, n)

        yield step


def _drive(
    make_chat: Callable[[], Any],
    work: Callable[[Any, Callable[[], None]], Coroutine[Any, Any, Any]],
    total: int,
    label: str,
) -> Any:
    """Run ``work(chat, advance)`` on a fresh event loop with a progress bar on stderr; close the client."""
    import asyncio

    async def main() -> Any:
        chat = make_chat()
        try:
            with _progress(label, total) as step:
                return await work(chat, lambda: step(1, False))
        finally:
            await chat.aclose()
            config = getattr(chat, "config", None)
            _print_call_stats(getattr(chat, "stats", None), config.timeout if config else 0.0)

    return asyncio.run(main())


def _print_call_stats(stats: CallStats | None, timeout: float) -> None:
    """What the client absorbed: cancelled timeouts, retries, replies cut at the size cap (endpoints only)."""
    if stats is None:
        return
    notes = []
    if stats.timeouts:
        notes.append(
            f"{stats.timeouts} request{'s' * (stats.timeouts != 1)} outlived --timeout "
            f"({timeout:g} s) and {'were' if stats.timeouts != 1 else 'was'} cancelled"
        )
    if stats.retries:
        notes.append(f"{stats.retries} retr{'ies' if stats.retries != 1 else 'y'} in all")
    if stats.truncated:
        notes.append(
            f"{stats.truncated} repl{'ies' if stats.truncated != 1 else 'y'} longer than max_tokens "
            "allows, cut and marked truncated"
        )
    if notes:
        console_err().print("endpoint: " + "; ".join(notes))


def _bench(path: Path | None, benchmark: str | None) -> BenchDir:
    from sosbench.judge import BenchDir

    root = path if path is not None else Path(benchmark) if benchmark else DEFAULT_BENCH
    if root.exists() and not root.is_dir():
        raise SosbenchError(f"--bench-dir {root}: not a folder")
    return BenchDir.open(root, benchmark)


def _questions(bench: BenchDir, limit: int | None, categories: list[str] | None = None) -> list:
    from sosbench.judge import select_questions

    return select_questions(bench, _split(categories), limit, judging=False)[0]


def _baseline(bench: BenchDir, baseline: str | None) -> str:
    """v0.1's baseline (``--baseline`` or gpt-4-0314); v2.0 refuses the option: its categories fix theirs."""
    if bench.benchmark.per_question:
        if baseline is not None:
            raise SosbenchError(
                f"--baseline does not apply to {bench.benchmark.name}: each category has its own baseline"
            )
        return bench.benchmark.baseline_label()
    return baseline or DEFAULT_BASELINE


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


# ------------------------------------------------------------------------------------------------------------
# answer
# ------------------------------------------------------------------------------------------------------------
def answer(
    model: Annotated[
        str,
        typer.Option(
            "--model",
            "-m",
            help="Model name: the API model to call, and the answer file's name (model_answer/<name>.jsonl).",
            envvar="SOSBENCH_ANSWER_MODEL",
        ),
    ],
    bench_dir: BenchDirOption = None,
    benchmark: BenchmarkOption = None,
    category: CategoryOption = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            help="OpenAI-compatible endpoint serving the model "
            "(default: $OPENAI_BASE_URL or api.openai.com).",
            envvar="SOSBENCH_ANSWER_BASE_URL",
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            help="API key of that endpoint (default: $OPENAI_API_KEY).",
            envvar="SOSBENCH_ANSWER_API_KEY",
        ),
    ] = None,
    hf: Annotated[
        str | None,
        typer.Option(
            "--hf",
            help="Answer with a local Hugging Face model (path or hub id) instead of an endpoint; "
            "one request at a time.",
            envvar="SOSBENCH_ANSWER_HF",
        ),
    ] = None,
    device: Annotated[
        str | None, typer.Option("--device", help="With --hf: device, e.g. cuda:0.", envvar="SOSBENCH_DEVICE")
    ] = None,
    max_tokens: Annotated[
        int | None,
        typer.Option(
            "--max-tokens",
            min=1,
            help="New tokens per answer (default: 2048, Arena-Hard-Auto v0.1's gen_answer_config).",
            envvar="SOSBENCH_ANSWER_MAX_TOKENS",
        ),
    ] = None,
    limit: Limit = None,
    parallel: Parallel = 8,
    timeout: Timeout = 600.0,
    max_retries: MaxRetries = 8,
    backoff: Backoff = 1.0,
) -> None:
    """Generate a model's answers to the Arena-Hard questions (temperature 0, up to 2048 tokens), resumably.

    Each answer carries v2.0's metadata (o200k token length, markdown counts). A rerun asks only for the
    questions without an answer."""
    from sosbench.judge import (
        ChatCaller,
        LocalHFChat,
        default_generation,
        generate_answers,
        missing_questions,
    )

    bench = _bench(bench_dir, benchmark)
    questions = _questions(bench, limit, category)
    todo = missing_questions(bench, model, questions)
    target = bench.answer_target(model)
    console = console_err()
    if not todo:
        console.print(f"all {len(questions)} answers of {model} already in {target}; nothing to do")
        return
    if len(todo) < len(questions):
        console.print(f"{len(questions) - len(todo)} of {len(questions)} answers already in {target} (kept)")
    settings = default_generation()
    if max_tokens is not None:
        settings = dataclasses.replace(settings, max_tokens=max_tokens)
    make_chat: Callable[[], Any]
    if hf:
        make_chat = functools.partial(LocalHFChat, hf, device)
    else:
        make_chat = functools.partial(
            ChatCaller, _endpoint(model, base_url, api_key, parallel, timeout, max_retries, backoff)
        )
    failed = _drive(
        make_chat,
        lambda chat, done: generate_answers(chat, bench, model, todo, settings, done),
        len(todo),
        f"answering with {model}",
    )
    console.print(f"{len(todo) - len(failed)} answers written to {target}")
    if failed:
        raise SosbenchError(
            f"{len(failed)} questions kept failing ({failed[0]}, ...): rerun the same command to finish"
        )


# ------------------------------------------------------------------------------------------------------------
# run
# ------------------------------------------------------------------------------------------------------------
def run(
    judge: Annotated[
        str,
        typer.Option(
            "--judge",
            "-j",
            help="The judge model (API name); judgments go to model_judgment/<judge>/.",
            envvar="SOSBENCH_JUDGE",
        ),
    ],
    models: Annotated[
        list[str],
        typer.Option(
            "--models",
            "-m",
            help="Models to judge against the baseline (comma-separated or repeated); "
            "their answers must exist.",
            envvar="SOSBENCH_JUDGE_MODELS",
        ),
    ],
    template: Annotated[
        str | None,
        typer.Option(
            "--template",
            "-t",
            help="arena-hard (stock v0.1 prompt), sos-multicriteria (the paper's factor-wise prompt), "
            "arena-hard-v2.0 (v2.0's prompts) or an Arena-Hard judge config YAML file "
            "(default: sos-multicriteria for v0.1, arena-hard-v2.0 for v2.0).",
            envvar="SOSBENCH_JUDGE_TEMPLATE",
        ),
    ] = None,
    bench_dir: BenchDirOption = None,
    benchmark: BenchmarkOption = None,
    category: CategoryOption = None,
    baseline: Baseline = None,
    base_url: JudgeBaseUrl = None,
    api_key: JudgeApiKey = None,
    limit: Limit = None,
    parallel: Parallel = 8,
    timeout: Timeout = 300.0,
    max_retries: MaxRetries = 8,
    backoff: Backoff = 1.0,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Print the calls, estimated tokens and cost; call nothing, write nothing.",
            envvar="SOSBENCH_JUDGE_DRY_RUN",
        ),
    ] = False,
    prices: Annotated[
        Path | None,
        typer.Option(
            "--prices",
            help="YAML of USD per 1M tokens (`prices: {model: {input, output}}`) "
            "instead of the packaged list.",
            envvar="SOSBENCH_JUDGE_PRICES",
        ),
    ] = None,
    completion_tokens: Annotated[
        int | None,
        typer.Option(
            "--completion-tokens",
            min=1,
            help=f"Judge output tokens per call assumed by --dry-run (default: {DEFAULT_COMPLETION_TOKENS}, "
            "or the template's max_tokens when that is smaller).",
            envvar="SOSBENCH_JUDGE_COMPLETION_TOKENS",
        ),
    ] = None,
) -> None:
    """Judge models against the baseline: two games per question (positions swapped), appended as they finish.

    arena-hard-v2.0 judges each category against its own baseline (hard_prompt: o3-mini-2025-01-31,
    creative_writing: gemini-2.0-flash-001, whose answers you supply).

    A rerun skips finished games; a killed run loses only the calls in flight. Games whose calls kept
    failing are listed and the command exits 1: rerun it to finish them.
    """
    from sosbench.judge import (
        ChatCaller,
        RunEvent,
        cost_usd,
        judge_job,
        load_prices,
        load_template,
        plan_judgments,
        price_for,
        run_judgments,
        select_questions,
    )

    bench = _bench(bench_dir, benchmark)
    spec = load_template(template or bench.benchmark.template)
    questions, skipped = select_questions(bench, _split(category), limit, judging=True)
    job = judge_job(bench, spec, judge, _split(models), questions, _baseline(bench, baseline))
    price = price_for(load_prices(prices), judge)
    console = console_err()
    if skipped:
        console.print(
            f"left out: {', '.join(skipped)} (its baseline's answers are not shipped; see docs/judge.md)"
        )
    if dry_run:  # reads only: no lock, no file touched
        tasks = plan_judgments(job)
        _print_dry_run(judge, spec, tasks, 2 * len(questions) * len(job.models), completion_tokens, price)
        return
    config = _endpoint(judge, base_url, api_key, parallel, timeout, max_retries, backoff)
    with _progress(f"judging with {judge}") as progress:

        def on_event(event: RunEvent) -> None:
            progress(event.games, event.kind == "planned")

        result = run_judgments(job, lambda: ChatCaller(config), concurrency=parallel, on_event=on_event)
    _print_call_stats(result.stats, timeout)
    totals = result.totals
    cost = cost_usd(totals.prompt_tokens, totals.completion_tokens, price)
    console.print(
        f"{totals.games} games judged ({result.already_done} already done), {totals.calls} calls, "
        f"{totals.prompt_tokens:,} prompt + {totals.completion_tokens:,} completion tokens"
        + (f", ~${cost:,.2f}" if cost is not None else "")
    )
    for summary in result.models:
        n = summary.unparsed
        note = f", {n} game{'s' * (n != 1)} without a readable verdict (counted, not scored)" if n else ""
        console.print(f"  {summary.model}: {summary.questions} of {len(questions)} questions judged{note}")
    console.print(f"judgments in {result.folder}/")
    if totals.failed:
        raise SosbenchError(
            f"{len(totals.failed)} games kept failing ({totals.failed[0]}, ...): "
            "rerun the same command to judge only those"
        )
    console.print(f"score them with: sosbench judge score --judgments {result.folder}")


def _print_dry_run(
    judge: str,
    spec: JudgeTemplate,
    tasks: list,
    total_games: int,
    completion_tokens: int | None,
    price: tuple[float, float] | None,
) -> None:
    from sosbench.judge import estimate

    per_call = min(completion_tokens or DEFAULT_COMPLETION_TOKENS, spec.max_tokens)
    capped = (
        " (the template's max_tokens)"
        if per_call == spec.max_tokens < (completion_tokens or DEFAULT_COMPLETION_TOKENS)
        else ""
    )
    est = estimate(tasks, per_call, price)
    typer.echo(f"dry run of judge {judge} (template {spec.name}), nothing sent:")
    typer.echo(
        f"  games to judge:     {est.games} of {total_games} ({total_games - est.games} already judged)"
    )
    typer.echo(f"  calls:              {est.calls} (one per game; a reply without a verdict adds one more)")
    typer.echo(f"  prompt tokens:      ~{est.prompt_tokens:,} (4 characters per token)")
    typer.echo(f"  completion tokens:  ~{est.completion_tokens:,} ({per_call} per call{capped})")
    if est.cost_usd is None or price is None:
        typer.echo(f"  cost:               unknown (no price for {judge}; pass --prices FILE)")
    else:
        typer.echo(
            f"  cost:               ~${est.cost_usd:,.2f} "
            f"(USD {price[0]:g}/{price[1]:g} per 1M input/output tokens)"
        )


# ------------------------------------------------------------------------------------------------------------
# score
# ------------------------------------------------------------------------------------------------------------
def score(
    judgments: Annotated[
        Path,
        typer.Option(
            "--judgments",
            "-J",
            help="A judge's folder: <bench>/model_judgment/<judge>/ (Arena-Hard-Auto v0.1 or v2.0 files).",
            envvar="SOSBENCH_JUDGMENTS",
        ),
    ],
    baseline: Baseline = None,
    benchmark: BenchmarkOption = None,
    category: CategoryOption = None,
    criterion: Annotated[
        str,
        typer.Option(
            "--criterion",
            "-c",
            help="overall, correctness, completeness, safety, conciseness, style, a comma list, or all.",
            envvar="SOSBENCH_JUDGE_CRITERION",
        ),
    ] = "overall",
    estimator: Annotated[
        str | None,
        typer.Option(
            "--estimator",
            "-e",
            help="Score as an official Arena-Hard-Auto estimator: arena-hard-v0.1 (3071ef9: Bradley-Terry, "
            "95% CI) or arena-hard-v2.0 (196f6b8: bootstrap median, 90% band); CSV model,score,lower,upper. "
            "See docs/judge.md.",
            envvar="SOSBENCH_JUDGE_ESTIMATOR",
        ),
    ] = None,
    style_control: Annotated[
        str | None,
        typer.Option(
            "--style-control",
            help="Control for answer style: length, markdown or both, with the estimator's own features "
            "(default estimator: the folder's benchmark). Reads the answers' metadata.",
            envvar="SOSBENCH_JUDGE_STYLE_CONTROL",
        ),
    ] = None,
    bench_dir: Annotated[
        Path | None,
        typer.Option(
            "--bench-dir",
            "-d",
            help="Where the answers are, for --style-control (default: two folders above --judgments).",
            envvar="SOSBENCH_BENCH_DIR",
        ),
    ] = None,
    rounds: Annotated[
        int,
        typer.Option(
            "--rounds",
            help="Bootstrap rounds for the intervals (0: the full-data fit alone).",
            envvar="SOSBENCH_JUDGE_ROUNDS",
        ),
    ] = 100,
    seed: Annotated[
        int,
        typer.Option("--seed", help="Bootstrap seed (42 as Arena-Hard-Auto).", envvar="SOSBENCH_JUDGE_SEED"),
    ] = 42,
    output_format: Annotated[
        str, typer.Option("--format", help="table, csv or json.", envvar="SOSBENCH_FORMAT")
    ] = "table",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the leaderboard here (csv, or json with --format json) instead of stdout.",
            envvar="SOSBENCH_JUDGE_SCORE_OUTPUT",
        ),
    ] = None,
) -> None:
    """Bradley-Terry leaderboard (win rate against the baseline, bootstrap CIs), per criterion.

    An arena-hard-v2.0 folder gets one leaderboard per category, each against its own baseline. When
    answers "<model>@<kind>" (from `judge perturb`) are scored beside "<model>", the score loss of each
    intervention is shown per criterion too.
    """
    from sosbench.judge import (
        ScoreOptions,
        board_json,
        folder_benchmark,
        intervention_losses,
        parse_criteria_option,
        score_categories,
    )

    if output_format not in ("table", "csv", "json"):
        raise SosbenchError(f"unknown --format {output_format!r}: use table, csv or json")
    if rounds < 0:
        raise SosbenchError("--rounds must be 0 or more")
    options = ScoreOptions(
        baseline or DEFAULT_BASELINE,
        parse_criteria_option(criterion),
        rounds,
        seed,
        benchmark=benchmark,
        categories=tuple(_split(category)),
    )
    chosen = folder_benchmark(judgments, options)
    if chosen.per_question and baseline is not None:
        raise SosbenchError(f"--baseline does not apply to {chosen.name}: each category has its own baseline")
    if estimator is not None or style_control is not None:
        _score_with_estimator(
            judgments, options, (estimator, style_control, bench_dir), output_format, output
        )
        return
    boards = score_categories(judgments, options)
    losses = {board.category: intervention_losses(board) for board in boards}
    for board in boards:
        _print_unparsed({r.criterion: r.unparsed for r in board.results}, board.category, chosen.per_question)
    frames = [board.frame() for board in boards]
    if output_format == "json":
        if chosen.per_question:
            payload: dict = {
                "benchmark": chosen.name,
                "judge": boards[0].judge,
                "categories": {b.category: board_json(b, losses[b.category]) for b in boards},
            }
        else:
            payload = board_json(boards[0], losses[boards[0].category])
        text: str | None = json.dumps(payload, indent=2, allow_nan=False)
    elif output_format == "csv" or output is not None:
        text = _csv(boards, frames, chosen.per_question)
    else:
        text = None
    if not _emit(text, output):
        for board, frame in zip(boards, frames, strict=True):
            _print_board(board, frame)
    for board in boards:
        if losses[board.category] and output_format != "json":
            _print_losses(losses[board.category], to_stderr=output_format == "csv" and output is None)


def _emit(text: str | None, output: Path | None) -> bool:
    """Write ``text`` to ``--output`` or stdout; False when there is none (the caller prints a table)."""
    if output is not None:
        write_text_atomic(output, text or "")
        console_err().print(f"leaderboard written to {output}")
    elif text is not None:
        typer.echo(text.rstrip("\n"))
    return text is not None or output is not None


def _print_unparsed(unparsed: dict[str, dict[str, int]], category: str, per_category: bool) -> None:
    """One line per distinct set of unparsed counts, naming its criteria (and the category, for v2.0)."""
    groups: dict[str, list[str]] = {}
    for criterion, counts in unparsed.items():
        bad = {m: n for m, n in counts.items() if n}
        if bad:
            groups.setdefault(", ".join(f"{m} {n}" for m, n in sorted(bad.items())), []).append(criterion)
    where = f" in {category} (their questions are left out whole)" if per_category else ""
    for listed, names in groups.items():
        console_err().print(
            f"games without a readable verdict (not scored){where} for {', '.join(names)}: {listed}"
        )


def _score_with_estimator(
    judgments: Path,
    options: Any,
    chosen: tuple[str | None, str | None, Path | None],
    output_format: str,
    output: Path | None,
) -> None:
    """``judge score --estimator/--style-control``: an official estimator's leaderboard per category."""
    from sosbench.judge import estimator_boards, estimator_frame, estimator_json, parse_control

    estimator, style_control, bench_dir = chosen
    control = parse_control(style_control)
    boards = estimator_boards(judgments, options, estimator=estimator, control=control, bench_dir=bench_dir)
    per_category = boards[0].category != boards[0].benchmark
    for board in boards:
        _print_unparsed(board.unparsed, board.category, per_category)
    frames = [estimator_frame(board) for board in boards]
    if output_format == "json":
        payload = (
            {
                "benchmark": boards[0].benchmark,
                "judge": boards[0].judge,
                "categories": {b.category: estimator_json(b) for b in boards},
            }
            if per_category
            else estimator_json(boards[0])
        )
        text: str | None = json.dumps(payload, indent=2, allow_nan=False)
    elif output_format == "csv" or output is not None:
        text = _csv(boards, frames, per_category)
    else:
        text = None
    if not _emit(text, output):
        for board, frame in zip(boards, frames, strict=True):
            _print_estimates(board, frame)


def _print_estimates(board: Any, frame: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    from sosbench.judge import OVERALL_CRITERION

    first = next(iter(board.estimates.values()))
    control = f", style control: {', '.join(first.control)}" if first.control else ""
    where = f" ({board.category})" if board.category != board.benchmark else ""
    typer.echo(
        f"judge {board.judge}{where}, estimator {first.estimator}{control}: win rate vs {board.baseline} "
        f"(%), {first.point}, {first.level:g}% band"
    )
    table = Table()
    table.add_column("model", no_wrap=True)
    for criterion in board.estimates:
        table.add_column(criterion, justify="right", no_wrap=True)
    for row in frame.itertuples(index=False):
        record = row._asdict()
        cells = [str(record["model"])]
        for criterion in board.estimates:
            prefix = "" if criterion == OVERALL_CRITERION else f"{criterion}_"
            value, low, high = (record[f"{prefix}{k}"] for k in ("score", "lower", "upper"))
            cells.append("-" if math.isnan(value) else f"{value:.1f} ({low:.1f}-{high:.1f})")
        table.add_row(*cells)
    Console(width=max(100, 30 + 22 * len(board.estimates))).print(table)
    for criterion, result in board.estimates.items():
        if result.control:
            coefs = ", ".join(f"{f} {c:+.3f}" for f, c in zip(result.control, result.coef, strict=True))
            typer.echo(f"style coefficients ({criterion}, log-odds per sd of the feature): {coefs}")


def _csv(boards: list[Any], frames: list[Any], per_category: bool) -> str:
    """v0.1: the paper's arena_hard_auto.csv layout; v2.0: the same with a leading ``category`` column."""
    if not per_category:
        return str(frames[0].to_csv(index=False))
    import pandas as pd

    tagged = [frame.assign(category=board.category) for board, frame in zip(boards, frames, strict=True)]
    table = pd.concat(tagged, ignore_index=True)
    return str(table[["category", *[c for c in table.columns if c != "category"]]].to_csv(index=False))


def _print_board(board: Leaderboard, frame: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    from sosbench.judge import OVERALL_CRITERION

    where = f" ({board.benchmark}, {board.category})" if board.category != board.benchmark else ""
    table = Table(title=f"judge {board.judge}{where}: win rate vs {board.baseline} (%), 95% bootstrap CI")
    table.add_column("model", no_wrap=True)
    for result in board.results:
        table.add_column(result.criterion, justify="right", no_wrap=True)
    for row in frame.itertuples(index=False):
        record = row._asdict()
        cells = [str(record["model"])]
        for result in board.results:
            prefix = "" if result.criterion == OVERALL_CRITERION else f"{result.criterion}_"
            value, low, high = (record[f"{prefix}{k}"] for k in ("score", "rating_q025", "rating_q975"))
            cells.append("-" if math.isnan(value) else f"{value:.1f} ({low:.1f}-{high:.1f})")
        table.add_row(*cells)
    width = max(100, max(len(m) for m in frame["model"]) + 22 * len(board.results) + 8)
    Console(width=width).print(table)


def _print_losses(losses: list, *, to_stderr: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="intervention score loss, (original - perturbed) / original")
    for name in ("model", "intervention", "criterion", "original", "perturbed", "loss %"):
        table.add_column(name, justify="left" if name in ("model", "intervention", "criterion") else "right")
    for x in losses:
        table.add_row(
            x.model, x.kind, x.criterion, _fmt(x.original), _fmt(x.perturbed), _fmt(x.loss_percent, 1)
        )
    (console_err() if to_stderr else Console(width=120)).print(table)


# ------------------------------------------------------------------------------------------------------------
# perturb
# ------------------------------------------------------------------------------------------------------------
def perturb(
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            "-k",
            help="Intervention: sarcastic, concise, wrong-facts, unsafe, verbose or no-markdown "
            "(prompts in data/judge/rewrite_prompts.yaml).",
            envvar="SOSBENCH_PERTURB_KIND",
        ),
    ],
    model: Annotated[
        str,
        typer.Option(
            "--model",
            "-m",
            help="Whose answers to rewrite (model_answer/<model>.jsonl).",
            envvar="SOSBENCH_PERTURB_MODEL",
        ),
    ],
    rewriter: Annotated[
        str,
        typer.Option(
            "--rewriter", "-r", help="The rewriting LLM (API model name).", envvar="SOSBENCH_PERTURB_REWRITER"
        ),
    ],
    bench_dir: BenchDirOption = None,
    benchmark: BenchmarkOption = None,
    base_url: RewriterBaseUrl = None,
    api_key: RewriterApiKey = None,
    limit: Limit = None,
    parallel: Parallel = 8,
    timeout: Timeout = 300.0,
    max_retries: MaxRetries = 8,
    backoff: Backoff = 1.0,
) -> None:
    """Rewrite a model's answers to inject one infraction; writes model_answer/<model>@<kind>.jsonl.

    Rewrites are cached in <bench>/rewrite_cache/<rewriter>.jsonl: a rerun calls only what is missing.
    Judge the new answers beside the originals and `judge score` shows the loss per criterion.
    """
    from sosbench.judge import ChatCaller, load_rewrite_prompts, perturb_answers

    kinds = load_rewrite_prompts()
    if kind not in kinds:
        raise SosbenchError(f"unknown --kind {kind!r}: use one of {', '.join(kinds)}")
    bench = _bench(bench_dir, benchmark)
    questions = _questions(bench, limit)
    bench.answers(model)  # fail early, with the hint, when the answers are missing
    config = _endpoint(rewriter, base_url, api_key, parallel, timeout, max_retries, backoff)
    result = _drive(
        lambda: ChatCaller(config),
        lambda chat, done: perturb_answers(chat, bench, model, kind, rewriter, questions, done),
        len(questions),
        f"rewriting ({kind}) with {rewriter}",
    )
    console = console_err()
    if result.failed:
        raise SosbenchError(
            f"{len(result.failed)} rewrites kept failing ({result.failed[0]}, ...); "
            f"the {result.calls} that worked "
            "are cached: rerun the same command to finish"
        )
    console.print(
        f"{result.answers} rewritten answers ({result.calls} new rewriter calls, "
        f"{result.answers - result.calls} "
        f"from the cache) written to {result.path}"
    )
    console.print(f"judge them with: sosbench judge run --models {model},{result.model} ...")


# ------------------------------------------------------------------------------------------------------------
# audit
# ------------------------------------------------------------------------------------------------------------
def audit(
    judgments: Annotated[
        list[Path],
        typer.Option(
            "--judgments",
            "-J",
            help="A judge's folder (repeat for several judges).",
            envvar="SOSBENCH_JUDGMENTS",
        ),
    ],
    runs: Annotated[
        list[Path] | None,
        typer.Option(
            "--runs",
            help="SOS-Bench run folders or results files (repeatable): also correlate with factor scores.",
            envvar="SOSBENCH_AUDIT_RUNS",
        ),
    ] = None,
    baseline: Baseline = None,
    estimator: Annotated[
        list[str] | None,
        typer.Option(
            "--estimator",
            "-e",
            help="Estimators of the bias card (repeatable; default: arena-hard-v0.1 and arena-hard-v2.0).",
            envvar="SOSBENCH_JUDGE_ESTIMATOR",
        ),
    ] = None,
    style_control: Annotated[
        str,
        typer.Option(
            "--style-control",
            help="What the card controls for: length, markdown, both, or none (no card).",
            envvar="SOSBENCH_JUDGE_STYLE_CONTROL",
        ),
    ] = "both",
    bench_dir: Annotated[
        Path | None,
        typer.Option(
            "--bench-dir",
            "-d",
            help="Where the answers are, for the card (default: two folders above each --judgments).",
            envvar="SOSBENCH_BENCH_DIR",
        ),
    ] = None,
    rounds: Annotated[
        int,
        typer.Option(
            "--rounds", help="Bootstrap rounds of the card's scores.", envvar="SOSBENCH_JUDGE_ROUNDS"
        ),
    ] = 100,
    seed: Annotated[
        int,
        typer.Option("--seed", help="Bootstrap seed (42 as Arena-Hard-Auto).", envvar="SOSBENCH_JUDGE_SEED"),
    ] = 42,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the audit JSON here (read by `sosbench report --audit`).",
            envvar="SOSBENCH_AUDIT_OUTPUT",
        ),
    ] = None,
) -> None:
    """Per judge: criteria and SOS-Bench factors against the overall score, and the judge-bias card.

    The card (per estimator): raw and style-controlled scores, the price of style in points of win rate,
    intervention losses, and, with --runs, whether style control moves the judge toward the factors.
    """
    from rich.console import Console
    from rich.table import Table

    from sosbench.analysis import audit_judges
    from sosbench.judge import ESTIMATORS, parse_control

    chosen = _split(estimator) or list(ESTIMATORS)
    unknown = [e for e in chosen if e not in ESTIMATORS]
    if unknown:
        raise SosbenchError(f"unknown --estimator {unknown[0]!r}: use {' or '.join(ESTIMATORS)}")
    if rounds < 0:
        raise SosbenchError("--rounds must be 0 or more")
    result = audit_judges(
        list(judgments),
        baseline or DEFAULT_BASELINE,
        list(runs or []) or None,
        estimators=chosen,
        control=parse_control(style_control),
        rounds=rounds,
        seed=seed,
        bench_dir=bench_dir,
    )
    table = Table(title="judge audit: correlation with the judge's overall score, across models")
    for name in ("judge", "vs", "pearson", "spearman", "models"):
        table.add_column(name, justify="left" if name in ("judge", "vs") else "right")
    for entry in result["judges"]:
        rows = [(c, v) for c, v in entry["criteria"].items()] + [
            (f"factor {f}", v) for f, v in entry["factors"].items()
        ]
        if not rows:
            table.add_row(entry["judge"], "(no criterion verdicts)", "-", "-", str(entry["n_models"]))
        for name, value in rows:
            table.add_row(
                entry["judge"], name, _fmt(value["pearson"], 3), _fmt(value["spearman"], 3), str(value["n"])
            )
    Console(width=110).print(table)
    for entry in result["judges"]:
        if entry.get("cards_missing"):
            console_err().print(f"{entry['judge']}: {entry['cards_missing']}")
        for card in entry.get("cards", []):
            _print_card(card)
    if output is not None:
        write_text_atomic(output, json.dumps(result, indent=2, allow_nan=False) + "\n")
        console_err().print(f"audit written to {output} (show it with: sosbench report --audit {output})")


def _print_card(card: dict) -> None:
    """One bias card: scores raw and style-controlled, the price of style, and the finding."""
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"judge-bias card ({card['category']}, {card['estimator']}): win rate vs {card['baseline']} (%)"
    )
    for name in ("model", "raw", "style-controlled", "shift"):
        table.add_column(name, justify="left" if name == "model" else "right")
    for model, row in sorted(card["models"].items(), key=lambda item: -item[1]["raw"]):
        table.add_row(model, _fmt(row["raw"], 1), _fmt(row["controlled"], 1), f"{row['shift']:+.1f}")
    Console(width=110).print(table)
    for feature, c in card["coefficients"].items():
        typer.echo(
            f"  {feature}: {c['points']:+.1f} points {c['reader_unit']} "
            f"(95% CI {c['points_lower']:+.1f} to {c['points_upper']:+.1f})"
        )
    for x in card["interventions"]:
        typer.echo(
            f"  intervention {x['model']}@{x['kind']}: loss {_fmt(x['raw_loss_percent'], 1)}% raw, "
            f"{_fmt(x['controlled_loss_percent'], 1)}% style-controlled"
        )
    typer.echo(card["finding"])


def register(app: typer.Typer) -> None:
    """Add `sosbench judge ...` to the root app."""
    judge_app.command("answer", epilog=EXAMPLES)(answer)
    judge_app.command("run", epilog=EXAMPLES)(run)
    judge_app.command("score", epilog=EXAMPLES)(score)
    judge_app.command("perturb", epilog=EXAMPLES)(perturb)
    judge_app.command("audit", epilog=EXAMPLES)(audit)
    app.add_typer(judge_app, name="judge")
