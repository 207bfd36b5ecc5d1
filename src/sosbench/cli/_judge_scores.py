"""`sosbench judge score` and `audit`: the commands that read judgments (leaderboards, the bias card).

The work lives in ``sosbench.judge`` and ``sosbench.analysis``; these commands parse options, call them
and print."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from sosbench._io import write_text_atomic
from sosbench.cli._common import console_err
from sosbench.cli._judge_options import (
    DEFAULT_BASELINE,
    AnswersDir,
    Baseline,
    BenchmarkOption,
    CategoryOption,
    Rounds,
    Seed,
    split_values,
)
from sosbench.cli._judge_show import show_audit, show_boards, show_estimator_boards
from sosbench.errors import SosbenchError


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
            "95% CI) or arena-hard-v2.0 (196f6b8: mean of bootstrap means, or with style control their "
            "median, 90% band); CSV model,score,lower,upper. Default: the folder's benchmark (v2.0 folders "
            "as v2.0's show_result.py; v0.1 folders in the paper's CSV layout). See docs/judge.md.",
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
    bench_dir: AnswersDir = None,
    rounds: Rounds = 100,
    seed: Seed = 42,
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
    """Leaderboard per criterion: win rate against the baseline with its interval, by an official estimator.

    A v0.1 folder is scored by Bradley-Terry (arena-hard-v0.1, 95% bootstrap CI). An arena-hard-v2.0
    folder gets one leaderboard per category, each against its own baseline, by the arena-hard-v2.0
    estimator as its show_result.py runs by default (no style control; the official leaderboard adds
    --style-control both). When answers "<model>@<kind>" (from `judge perturb`) are scored beside
    "<model>", the score loss of each intervention is shown per criterion too.
    """
    from sosbench.judge import ScoreOptions, folder_benchmark, parse_control, parse_criteria_option

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
        categories=tuple(split_values(category)),
    )
    chosen = folder_benchmark(judgments, options)
    if chosen.per_question and baseline is not None:
        raise SosbenchError(f"--baseline does not apply to {chosen.name}: each category has its own baseline")
    control = parse_control(style_control)
    if estimator is None and not control and not chosen.per_question:
        from sosbench.judge import score_categories

        show_boards(score_categories(judgments, options), output_format, output)
        return
    from sosbench.judge import estimator_boards

    boards = estimator_boards(judgments, options, estimator=estimator, control=control, bench_dir=bench_dir)
    show_estimator_boards(boards, output_format, output, defaulted=estimator is None)


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
            help="SOS-Bench run folders or results files (repeatable; `--runs a b` and plain paths work "
            "too): also correlate with factor scores.",
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
    bench_dir: AnswersDir = None,
    rounds: Rounds = 100,
    seed: Seed = 42,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the audit JSON here (read by `sosbench report --audit`).",
            envvar="SOSBENCH_AUDIT_OUTPUT",
        ),
    ] = None,
    run_paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="SOS-Bench run folders or results files: also correlate with factor scores (as --runs).",
            metavar="[RUN...]",
        ),
    ] = None,
) -> None:
    """Per judge (and per v2.0 category): criteria and SOS-Bench factors against the overall score, and the
    judge-bias card.

    The card (per estimator): raw and style-controlled scores, the price of style in points of win rate,
    intervention losses, and, with --runs, whether style control moves the judge toward the factors.
    """
    from sosbench.analysis import audit_judges
    from sosbench.judge import ESTIMATORS, parse_control

    chosen = split_values(estimator) or list(ESTIMATORS)
    unknown = [e for e in chosen if e not in ESTIMATORS]
    if unknown:
        raise SosbenchError(f"unknown --estimator {unknown[0]!r}: use {' or '.join(ESTIMATORS)}")
    if rounds < 0:
        raise SosbenchError("--rounds must be 0 or more")
    every_run = [*(runs or []), *(p for p in run_paths or [] if p not in (runs or []))]
    result = audit_judges(
        list(judgments),
        baseline,
        every_run or None,
        estimators=chosen,
        control=parse_control(style_control),
        rounds=rounds,
        seed=seed,
        bench_dir=bench_dir,
    )
    show_audit(result)
    if output is not None:
        write_text_atomic(output, json.dumps(result, indent=2, allow_nan=False) + "\n")
        console_err().print(f"audit written to {output} (show it with: sosbench report --audit {output})")
