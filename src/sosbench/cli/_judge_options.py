"""`sosbench judge`'s shared options and how they are read (bench folder, benchmark, questions, endpoint)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sosbench.cli._common import limit_count
from sosbench.errors import SosbenchError

if TYPE_CHECKING:
    from sosbench.judge import BenchDir, EndpointConfig

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
        "--benchmark",  # no -b: that is --benchmarks (SOS-Bench's) in run, list and data pull
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
    float | None,
    typer.Option(
        "--limit",
        help="Only the first N questions, or a fraction of them if below 1 (for trying things out).",
        envvar="SOSBENCH_JUDGE_LIMIT",  # questions here, items per task in `sosbench run`: not shared
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


def split_values(values: list[str] | None) -> list[str]:
    """Repeatable options that also accept comma-separated lists, order kept, duplicates dropped."""
    out: list[str] = []
    for value in values or []:
        out += [v.strip() for v in value.split(",") if v.strip() and v.strip() not in out]
    return out


def endpoint_config(
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


def bench_folder(path: Path | None, benchmark: str | None) -> BenchDir:
    from sosbench.judge import BenchDir

    root = path if path is not None else Path(benchmark) if benchmark else DEFAULT_BENCH
    if root.exists() and not root.is_dir():
        raise SosbenchError(f"--bench-dir {root}: not a folder")
    return BenchDir.open(root, benchmark)


def question_limit(bench: BenchDir, limit: float | None) -> int | None:
    """``--limit`` as a number of questions: a count, or a fraction of the bench's questions (one rule for
    every command, as `sosbench run` reads it)."""
    return limit_count(limit, len(bench.questions())) if limit is not None else None


def questions_of(bench: BenchDir, limit: float | None, categories: list[str] | None = None) -> list:
    from sosbench.judge import select_questions

    return select_questions(bench, split_values(categories), question_limit(bench, limit), judging=False)[0]


def baseline_of(bench: BenchDir, baseline: str | None) -> str:
    """v0.1's baseline (``--baseline`` or gpt-4-0314); v2.0 refuses the option: its categories fix theirs."""
    if bench.benchmark.per_question:
        if baseline is not None:
            raise SosbenchError(
                f"--baseline does not apply to {bench.benchmark.name}: each category has its own baseline"
            )
        return bench.benchmark.baseline_label()
    return baseline or DEFAULT_BASELINE


AnswersDir = Annotated[
    Path | None,
    typer.Option(
        "--bench-dir",
        "-d",
        help="Where the answers are, for style control (default: two folders above --judgments).",
        envvar="SOSBENCH_BENCH_DIR",
    ),
]
Rounds = Annotated[
    int,
    typer.Option(
        "--rounds",
        help="Bootstrap rounds for the intervals (0: the full-data fit alone).",
        envvar="SOSBENCH_JUDGE_ROUNDS",
    ),
]
Seed = Annotated[
    int,
    typer.Option("--seed", help="Bootstrap seed (42 as Arena-Hard-Auto).", envvar="SOSBENCH_JUDGE_SEED"),
]
