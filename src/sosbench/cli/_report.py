"""`sosbench report`: one self-contained HTML report of your models beside the paper's."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from sosbench._defaults import BOOTSTRAP_ROUNDS
from sosbench.cli._common import console_err
from sosbench.cli._compare import JudgeBaseline, Judgments
from sosbench.cli._score import AllowPartial, Bootstrap, Normalize, Seed
from sosbench.errors import SosbenchError


def _two_runs(value: tuple[Path, Path] | None) -> tuple[Path, Path] | None:
    """``--compare`` takes exactly two folders; a following option swallowed as the second is named."""
    if value is not None and any(str(p).startswith("-") for p in value):
        raise typer.BadParameter(
            f"takes two run folders, BASE CANDIDATE, but got {' '.join(str(p) for p in value)}: "
            "write --compare BASE CANDIDATE"
        )
    return value


def report(
    html: Annotated[Path, typer.Option("--html", help="The HTML file to write.", envvar="SOSBENCH_HTML")],
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Run folders or results files of your models (optional with --paper)."),
    ] = None,
    paper: Annotated[
        bool,
        typer.Option(
            "--paper/--no-paper",
            help="Include the paper's models and analyses (packaged artifacts).",
            envvar="SOSBENCH_PAPER",
        ),
    ] = False,
    png: Annotated[
        Path | None,
        typer.Option("--png", help="Also write every figure as PNG into this folder.", envvar="SOSBENCH_PNG"),
    ] = None,
    judge_scores: Annotated[
        Path | None,
        typer.Option(
            "--judge-scores",
            help="Arena-Hard-style CSV (model, score, ...) with a judge score for your models.",
            envvar="SOSBENCH_JUDGE_SCORES",
        ),
    ] = None,
    audit: Annotated[
        Path | None,
        typer.Option("--audit", help="Judge audit JSON from `sosbench judge`.", envvar="SOSBENCH_AUDIT"),
    ] = None,
    compare: Annotated[
        tuple[Path, Path] | None,
        typer.Option(
            "--compare",
            help="BASE CANDIDATE run folders: add a paired comparison (see `sosbench compare`).",
            envvar="SOSBENCH_COMPARE",
            callback=_two_runs,
        ),
    ] = None,
    judgments: Judgments = None,
    baseline: JudgeBaseline = None,
    allow_partial: AllowPartial = False,
    normalize: Normalize = "none",
    bootstrap: Bootstrap = BOOTSTRAP_ROUNDS,
    seed: Seed = 0,
    rank_limited: Annotated[
        bool,
        typer.Option(
            "--rank-limited/--no-rank-limited",
            help="With --paper, rank --limit runs among the paper's full runs anyway (marked).",
            envvar="SOSBENCH_RANK_LIMITED",
        ),
    ] = False,
) -> None:
    """Write one self-contained HTML report (works offline); your models beside the paper's.

    Sortable leaderboard with factor scores and CIs, per-benchmark breakdown, factor bars with error
    bars, judge-score-versus-factor scatter plots with fitted lines and r, correlation heatmaps.

    Example: `sosbench report --paper --html sos-report.html` (the paper, from packaged data),
    `sosbench report runs/my-model --paper --judge-scores my_arena.csv --html report.html` or
    `sosbench report --compare runs/sft runs/dpo --judgments judge/model_judgment/JUDGE --html report.html`
    """
    if judgments is not None and compare is None:
        raise SosbenchError(
            "--judgments adds the judge's row to a comparison: pass --compare BASE CANDIDATE with it "
            "(judge scores for the leaderboard come from --judge-scores)"
        )
    paths = paths or (list(compare) if compare else None)  # the compared runs are scored too
    if not paths and not paper:
        raise SosbenchError("nothing to report: pass run folders / results files, or --paper")
    from sosbench.report import build_report_data, read_audit, read_judge_scores, write_html_report

    judge = read_judge_scores(judge_scores) if judge_scores else None
    audit_rows = read_audit(audit) if audit else None
    err = console_err()
    user = paper_analysis = None
    flagged: list[str] = []
    with err.status("building the report") as status:
        if paths:
            from sosbench.results import check_generations, flag_lines, read_paths
            from sosbench.scoring import score_models

            def on_model(i: int, total: int, name: str) -> None:
                status.update(f"scoring your models: {i + 1}/{total} {name}")

            models = read_paths(paths)
            flagged = flag_lines([check for model in models for check in check_generations(model)])
            user = score_models(
                models,
                allow_partial=allow_partial,
                normalize=normalize,
                bootstrap=bootstrap,
                seed=seed,
                on_model=on_model,
            )
        if paper:
            from sosbench.analysis import paper_analysis as analyse

            paper_analysis = analyse(
                bootstrap=bootstrap,
                seed=seed,
                normalize=normalize,
                on_step=lambda msg: status.update(f"paper: {msg}"),
            )
        comparison = None
        if compare is not None:
            from sosbench.analysis import compare_paths

            status.update("comparing the two runs")
            # The same options and defaults as `sosbench compare`, so the same pair and seed give the same
            # numbers in both.
            comparison = compare_paths(
                compare[0],
                [compare[1]],
                judgments=judgments,
                baseline=baseline,
                rounds=bootstrap,
                seed=seed,
                allow_partial=allow_partial,
                normalize=normalize,
            )[0]
        data = build_report_data(
            user,
            paper_analysis,
            judge_scores=judge,
            audit=audit_rows,
            audit_source=str(audit) if audit else None,
            inputs=[str(p) for p in paths or []],
            comparison=comparison,
            rank_limited=rank_limited,
        )
        data = dataclasses.replace(data, notes=[*data.notes, *flagged])
        out, figures = write_html_report(data, html, png_dir=png, on_step=lambda msg: status.update(msg))
    err.print(f"wrote {out}")
    for fig in figures:
        if fig.png is not None:
            err.print(f"wrote {fig.png}")


def register(app: typer.Typer) -> None:
    """Add `sosbench report` to the root app."""
    app.command("report")(report)
