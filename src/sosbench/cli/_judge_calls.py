"""`sosbench judge answer`, `run` and `perturb`: the commands that call a model or a judge.

The work lives in ``sosbench.judge``; these commands parse options, call it and print."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from sosbench.cli._common import console_err
from sosbench.cli._judge_options import (
    DEFAULT_COMPLETION_TOKENS,
    Backoff,
    Baseline,
    BenchDirOption,
    BenchmarkOption,
    CategoryOption,
    JudgeApiKey,
    JudgeBaseUrl,
    Limit,
    MaxRetries,
    Parallel,
    RewriterApiKey,
    RewriterBaseUrl,
    Timeout,
    baseline_of,
    bench_folder,
    endpoint_config,
    question_limit,
    questions_of,
    split_values,
)
from sosbench.cli._judge_show import (
    drive,
    print_call_stats,
    print_dry_run,
    progress_bar,
)
from sosbench.errors import SosbenchError


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
    from sosbench._io import folder_lock
    from sosbench.judge import (
        ChatCaller,
        LocalHFChat,
        check_reachable,
        default_generation,
        generate_answers,
        missing_questions,
    )

    bench = bench_folder(bench_dir, benchmark)
    questions = questions_of(bench, limit, category)
    target = bench.answer_target(model)
    console = console_err()
    settings = default_generation()
    if max_tokens is not None:
        settings = dataclasses.replace(settings, max_tokens=max_tokens)
    make_chat: Callable[[], Any]
    if hf:
        make_chat = functools.partial(LocalHFChat, hf, device)
    else:
        check_reachable(base_url)  # a dead server: one line at once, no retries, no file
        make_chat = functools.partial(
            ChatCaller, endpoint_config(model, base_url, api_key, parallel, timeout, max_retries, backoff)
        )
    # One writer per answer file, as `judge run` per judge folder: a second one would ask (and pay) twice.
    with folder_lock(target.parent, "the answers", file=target.name):
        todo = missing_questions(bench, model, questions)
        if not todo:
            console.print(f"all {len(questions)} answers of {model} already in {target}; nothing to do")
            return
        if len(todo) < len(questions):
            console.print(
                f"{len(questions) - len(todo)} of {len(questions)} answers already in {target} (kept)"
            )
        failed = drive(
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
        check_reachable,
        cost_usd,
        judge_job,
        load_prices,
        load_template,
        plan_judgments,
        price_for,
        run_judgments,
        select_questions,
    )

    bench = bench_folder(bench_dir, benchmark)
    spec = load_template(template or bench.benchmark.template)
    questions, skipped = select_questions(
        bench, split_values(category), question_limit(bench, limit), judging=True
    )
    job = judge_job(bench, spec, judge, split_values(models), questions, baseline_of(bench, baseline))
    price = price_for(load_prices(prices), judge)
    console = console_err()
    if skipped:
        console.print(
            f"left out: {', '.join(skipped)} (its baseline's answers are not shipped; see docs/judge.md)"
        )
    if dry_run:  # reads only: no lock, no file touched
        tasks = plan_judgments(job)
        print_dry_run(judge, spec, tasks, 2 * len(questions) * len(job.models), completion_tokens, price)
        return
    config = endpoint_config(judge, base_url, api_key, parallel, timeout, max_retries, backoff)
    if plan_judgments(job):  # games to play: a dead server is one line now, before any folder is made
        check_reachable(base_url)
    with progress_bar(f"judging with {judge}") as progress:

        def on_event(event: RunEvent) -> None:
            progress(event.games, event.kind == "planned")

        result = run_judgments(job, lambda: ChatCaller(config), concurrency=parallel, on_event=on_event)
    print_call_stats(result.stats, timeout)
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
    from sosbench._io import folder_lock
    from sosbench.judge import (
        ChatCaller,
        check_reachable,
        load_rewrite_prompts,
        perturb_answers,
        perturbed_name,
    )

    kinds = load_rewrite_prompts()
    if kind not in kinds:
        raise SosbenchError(f"unknown --kind {kind!r}: use one of {', '.join(kinds)}")
    bench = bench_folder(bench_dir, benchmark)
    questions = questions_of(bench, limit)
    bench.answers(model)  # fail early, with the hint, when the answers are missing
    config = endpoint_config(rewriter, base_url, api_key, parallel, timeout, max_retries, backoff)
    check_reachable(base_url)
    target = bench.answer_target(perturbed_name(model, kind))
    # One writer per rewritten set, as `judge run` per judge folder: a second one would pay twice.
    with folder_lock(target.parent, "the rewritten answers", file=target.name):
        result = drive(
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
