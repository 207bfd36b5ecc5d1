"""`sosbench judge`: Arena-Hard-Auto v0.1 answers, judgments, scores, interventions and the style audit."""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sosbench._io import write_text_atomic
from sosbench.cli._common import console_err
from sosbench.errors import SosbenchError

if TYPE_CHECKING:
    from sosbench.judge import BenchDir, EndpointConfig, JudgeTemplate, Leaderboard

judge_app = typer.Typer(
    name="judge",
    help="The LLM judge (Arena-Hard-Auto v0.1 protocol): answer, run, score, perturb, audit. "
    "See docs/judge.md.",
    no_args_is_help=True,
)

DEFAULT_BENCH = Path("arena-hard-v0.1")
DEFAULT_BASELINE = "gpt-4-0314"
# A judgment of the SOS multi-criteria template runs to ~500-800 tokens; the dry run assumes this many.
DEFAULT_COMPLETION_TOKENS = 700

BenchDirOption = Annotated[
    Path,
    typer.Option(
        "--bench-dir",
        "-d",
        help="Bench folder in Arena-Hard-Auto's layout (question.jsonl, model_answer/, model_judgment/). "
        "Missing questions and the gpt-4-0314, gpt-4-0613 and gpt-3.5-turbo-0125 answers are read from the "
        "packaged Arena-Hard v0.1 copies.",
        envvar="SOSBENCH_BENCH_DIR",
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
    str,
    typer.Option(
        "--baseline",
        help="The model every answer is compared with (scores 50).",
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


def _drive(
    make_chat: Callable[[], Any],
    work: Callable[[Any, Callable[[], None]], Coroutine[Any, Any, Any]],
    total: int,
    label: str,
) -> Any:
    """Run ``work(chat, advance)`` on a fresh event loop with a progress bar on stderr; close the client."""
    import asyncio

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    async def main() -> Any:
        chat = make_chat()
        try:
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console_err(),
                transient=True,
            ) as progress:
                task = progress.add_task(label, total=total)
                return await work(chat, lambda: progress.advance(task))
        finally:
            await chat.aclose()
            _print_call_stats(chat)

    return asyncio.run(main())


def _print_call_stats(chat: Any) -> None:
    """What the client absorbed: cancelled timeouts, retries, replies cut at the size cap (endpoints only)."""
    stats = getattr(chat, "stats", None)
    if stats is None:
        return
    notes = []
    if stats.timeouts:
        notes.append(
            f"{stats.timeouts} request{'s' * (stats.timeouts != 1)} outlived --timeout "
            f"({chat.config.timeout:g} s) and {'were' if stats.timeouts != 1 else 'was'} cancelled"
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


def _bench(path: Path) -> BenchDir:
    from sosbench.judge import BenchDir

    if path.exists() and not path.is_dir():
        raise SosbenchError(f"--bench-dir {path}: not a folder")
    return BenchDir(path)


def _questions(bench: BenchDir, limit: int | None) -> list:
    if limit is not None and limit < 1:
        raise SosbenchError("--limit must be at least 1")
    questions = bench.questions(limit)
    if not questions:
        raise SosbenchError(f"{bench.question_file}: no questions in it")
    return questions


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
    bench_dir: BenchDirOption = DEFAULT_BENCH,
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

    A rerun asks only for the questions without an answer."""
    from sosbench.judge import (
        ChatCaller,
        LocalHFChat,
        default_generation,
        generate_answers,
        missing_questions,
    )

    bench = _bench(bench_dir)
    questions = _questions(bench, limit)
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
        str,
        typer.Option(
            "--template",
            "-t",
            help="arena-hard (stock v0.1 prompt), sos-multicriteria (the paper's factor-wise prompt) "
            "or an Arena-Hard judge_config YAML file.",
            envvar="SOSBENCH_JUDGE_TEMPLATE",
        ),
    ] = "sos-multicriteria",
    bench_dir: BenchDirOption = DEFAULT_BENCH,
    baseline: Baseline = DEFAULT_BASELINE,
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

    A rerun skips finished games; a killed run loses only the calls in flight. Games whose calls kept
    failing are listed and the command exits 1: rerun it to finish them.
    """
    from sosbench._io import folder_lock
    from sosbench.judge import (
        ChatCaller,
        JudgeJob,
        JudgeKey,
        RunTotals,
        check_judge_folder,
        cost_usd,
        judgment_summary,
        load_prices,
        load_template,
        plan,
        price_for,
        run_games,
        write_judge_key,
    )

    chosen = _split(models)
    if not chosen:
        raise SosbenchError("--models is empty: name at least one model with answers")
    if baseline in chosen:
        raise SosbenchError(
            f"--models includes the baseline {baseline}: it scores 50 by definition; leave it out"
        )
    spec = load_template(template)
    bench = _bench(bench_dir)
    questions = _questions(bench, limit)
    key = JudgeKey.of(judge, spec, baseline)
    out_dir = bench.judgment_dir(judge)
    job = JudgeJob(bench, spec, key, tuple(chosen), tuple(questions))
    price = price_for(load_prices(prices), judge)
    total_games = 2 * len(questions) * len(chosen)
    if dry_run:  # reads only: no lock, no file touched
        check_judge_folder(out_dir, key)
        _, tasks = plan(job, write=False)
        _print_dry_run(judge, spec, tasks, total_games, completion_tokens, price)
        return
    console = console_err()
    # One writer per judge folder: a second `judge run` on it would judge every game twice.
    with folder_lock(out_dir, "the judgments in"):
        new_folder = check_judge_folder(out_dir, key)
        stores, tasks = plan(job)
        if new_folder:
            write_judge_key(out_dir, key)
        totals = RunTotals()
        if tasks:
            config = _endpoint(judge, base_url, api_key, parallel, timeout, max_retries, backoff)
            totals = _drive(
                lambda: ChatCaller(config),
                lambda chat, done: run_games(chat, spec, stores, tasks, done, parallel),
                len(tasks),
                f"judging with {judge}",
            )
        uids = [q.uid for q in questions]
        for store in stores.values():
            store.finish(uids)
    cost = cost_usd(totals.prompt_tokens, totals.completion_tokens, price)
    console.print(
        f"{totals.games} games judged ({total_games - len(tasks)} already done), {totals.calls} calls, "
        f"{totals.prompt_tokens:,} prompt + {totals.completion_tokens:,} completion tokens"
        + (f", ~${cost:,.2f}" if cost is not None else "")
    )
    for model in chosen:
        path = stores[model].files.judgment
        summary = judgment_summary(path) if path.exists() else {"questions": 0, "unparsed": 0}
        n = summary["unparsed"]
        note = f", {n} game{'s' * (n != 1)} without a readable verdict (counted, not scored)" if n else ""
        console.print(f"  {model}: {summary['questions']} of {len(questions)} questions judged{note}")
    console.print(f"judgments in {out_dir}/")
    if totals.failed:
        raise SosbenchError(
            f"{len(totals.failed)} games kept failing ({totals.failed[0]}, ...): "
            "rerun the same command to judge only those"
        )
    console.print(f"score them with: sosbench judge score --judgments {out_dir}")


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
            help="A judge's folder: <bench>/model_judgment/<judge>/ (Arena-Hard-Auto v0.1 files).",
            envvar="SOSBENCH_JUDGMENTS",
        ),
    ],
    baseline: Baseline = DEFAULT_BASELINE,
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
            help="Control for answer style: length, markdown or both (the estimator's own features; "
            "default estimator arena-hard-v0.1). Reads the answers' metadata.",
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

    When answers "<model>@<kind>" (from `judge perturb`) are scored beside "<model>", the score loss of each
    intervention is shown per criterion too.
    """
    from sosbench.judge import ScoreOptions, intervention_losses, parse_criteria_option, score_judgments

    if output_format not in ("table", "csv", "json"):
        raise SosbenchError(f"unknown --format {output_format!r}: use table, csv or json")
    if rounds < 0:
        raise SosbenchError("--rounds must be 0 or more")
    criteria = parse_criteria_option(criterion)
    if estimator is not None or style_control is not None:
        chosen = (estimator, style_control, bench_dir)
        _score_with_estimator(judgments, baseline, criteria, chosen, rounds, seed, output_format, output)
        return
    board = score_judgments(judgments, ScoreOptions(baseline, criteria, rounds, seed))
    losses = intervention_losses(board)
    console = console_err()
    _print_unparsed({r.criterion: r.unparsed for r in board.results})
    frame = board.frame()
    if output_format == "json":
        text = json.dumps(_board_json(board, losses), indent=2, allow_nan=False)
    elif output_format == "csv" or output is not None:
        text = frame.to_csv(index=False)
    else:
        text = None
    if output is not None:
        write_text_atomic(output, text or "")
        console.print(f"leaderboard written to {output}")
    elif text is not None:
        typer.echo(text.rstrip("\n"))
    else:
        _print_board(board, frame)
    if losses and output_format != "json":
        _print_losses(losses, to_stderr=output_format == "csv" and output is None)


def _print_unparsed(unparsed: dict[str, dict[str, int]]) -> None:
    """One stderr line per distinct set of unreadable-verdict counts, naming its criteria."""
    groups: dict[str, list[str]] = {}
    for criterion, counts in unparsed.items():
        bad = {m: n for m, n in counts.items() if n}
        if bad:
            groups.setdefault(", ".join(f"{m} {n}" for m, n in sorted(bad.items())), []).append(criterion)
    for listed, names in groups.items():
        console_err().print(f"games without a readable verdict (not scored) for {', '.join(names)}: {listed}")


def _score_with_estimator(
    judgments: Path,
    baseline: str,
    criteria: tuple[str, ...],
    chosen: tuple[str | None, str | None, Path | None],
    rounds: int,
    seed: int,
    output_format: str,
    output: Path | None,
) -> None:
    """``judge score --estimator/--style-control``: an official estimator's leaderboard."""
    from sosbench.judge import (
        ALL_CRITERIA,
        BenchDir,
        estimator_frame,
        estimator_json,
        parse_control,
        read_judge_name,
        read_judgments,
        score_with_estimator,
    )

    estimator, style_control, bench_dir = chosen
    control = parse_control(style_control)
    board = score_with_estimator(
        read_judgments(judgments),
        criteria,
        judge=read_judge_name(judgments),
        baseline=baseline,
        estimator=estimator or "arena-hard-v0.1",
        control=control,
        rounds=rounds,
        seed=seed,
        bench=BenchDir(bench_dir or judgments.resolve().parent.parent) if control else None,
        explicit=criteria != ALL_CRITERIA,
        where=judgments,
    )
    _print_unparsed(board.unparsed)
    frame = estimator_frame(board)
    if output_format == "json":
        text: str | None = json.dumps(estimator_json(board), indent=2, allow_nan=False)
    elif output_format == "csv" or output is not None:
        text = frame.to_csv(index=False)
    else:
        text = None
    if output is not None:
        write_text_atomic(output, text or "")
        console_err().print(f"leaderboard written to {output}")
    elif text is not None:
        typer.echo(text.rstrip("\n"))
    else:
        _print_estimates(board, frame)


def _print_estimates(board: Any, frame: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    from sosbench.judge import OVERALL_CRITERION

    first = next(iter(board.estimates.values()))
    control = f", style control: {', '.join(first.control)}" if first.control else ""
    table = Table(
        title=f"judge {board.judge}, estimator {first.estimator}{control}: win rate vs {board.baseline} (%), "
        f"{first.point}, {first.level:g}% band"
    )
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


def _board_json(board: Leaderboard, losses: list) -> dict:
    def clean(x: float) -> float | None:
        return round(x, 4) if math.isfinite(x) else None

    return {
        "judge": board.judge,
        "baseline": board.baseline,
        "criteria": {
            r.criterion: {
                m: {
                    "score": clean(s),
                    "rating_q025": clean(lo),
                    "rating_q975": clean(hi),
                    "battles": r.battles.get(m, 0),
                    "unparsed": r.unparsed.get(m, 0),
                }
                for m, s, lo, hi in zip(r.models, r.score, r.lower, r.upper, strict=True)
            }
            for r in board.results
        },
        "interventions": [
            {
                "model": x.model,
                "kind": x.kind,
                "criterion": x.criterion,
                "original": clean(x.original),
                "perturbed": clean(x.perturbed),
                "loss_percent": clean(x.loss_percent),
            }
            for x in losses
        ],
    }


def _print_board(board: Leaderboard, frame: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    from sosbench.judge import OVERALL_CRITERION

    table = Table(title=f"judge {board.judge}: win rate vs {board.baseline} (%), 95% bootstrap CI")
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
    bench_dir: BenchDirOption = DEFAULT_BENCH,
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
    bench = _bench(bench_dir)
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
    baseline: Baseline = DEFAULT_BASELINE,
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
    """Per judge: how each criterion's score (and each SOS-Bench factor) correlates with the overall score."""
    from rich.console import Console
    from rich.table import Table

    from sosbench.analysis import audit_judges

    result = audit_judges(list(judgments), baseline, list(runs or []) or None)
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
    if output is not None:
        write_text_atomic(output, json.dumps(result, indent=2, allow_nan=False) + "\n")
        console_err().print(f"audit written to {output} (show it with: sosbench report --audit {output})")


def register(app: typer.Typer) -> None:
    """Add `sosbench judge ...` to the root app."""
    judge_app.command("answer", epilog=EXAMPLES)(answer)
    judge_app.command("run", epilog=EXAMPLES)(run)
    judge_app.command("score", epilog=EXAMPLES)(score)
    judge_app.command("perturb", epilog=EXAMPLES)(perturb)
    judge_app.command("audit", epilog=EXAMPLES)(audit)
    app.add_typer(judge_app, name="judge")
