"""`sosbench compare`: did the candidate really get better than the base? Paired item-level tests."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sosbench.cli._common import OutputFormat, check_format, console_err
from sosbench.cli._score import Seed
from sosbench.errors import SosbenchError

if TYPE_CHECKING:
    from sosbench.analysis import Comparison

CSV_FIELDS = (
    "candidate",
    "name",
    "kind",
    "n",
    "base",
    "candidate_score",
    "diff",
    "ci_low",
    "ci_high",
    "test",
    "p",
    "p_adjusted",
    "mde",
    "lost",
    "gained",
    "p_tost_adjusted",
    "verdict",
)


def _points(x: float) -> str:
    return f"{x * 100:+.1f}"


def print_comparison(comparison: Comparison) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"{comparison.candidate} vs {comparison.base} (candidate - base, points)",
        caption=f"paired bootstrap 95% CI ({comparison.rounds} rounds, seed {comparison.seed}); p adjusted: "
        f"{comparison.adjust}; MDE = minimum detectable effect at 80% power, alpha {comparison.alpha}",
    )
    for column in (
        "row",
        "n",
        "base",
        "cand",
        "diff",
        "95% CI",
        "test",
        "p adj",
        "MDE",
        "lost/gained",
        "verdict",
    ):
        table.add_column(column, justify="left" if column in ("row", "test", "verdict") else "right")
    for r in comparison.rows:
        flips = f"{r.lost}/{r.gained}" if r.lost is not None else "-"
        table.add_row(
            r.name,
            str(r.n),
            f"{r.base * 100:.1f}",
            f"{r.candidate * 100:.1f}",
            _points(r.diff),
            f"[{_points(r.ci[0])}, {_points(r.ci[1])}]",
            r.test,
            f"{r.p_adjusted:.3g}",
            f"{r.mde * 100:.1f}",
            flips,
            r.verdict,
        )
    Console().print(table)


def to_csv(comparisons: list[Comparison]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_FIELDS)
    for c in comparisons:
        for r in c.rows:
            writer.writerow(
                [
                    c.candidate,
                    r.name,
                    r.kind,
                    r.n,
                    r.base,
                    r.candidate,
                    r.diff,
                    r.ci[0],
                    r.ci[1],
                    r.test,
                    r.p,
                    r.p_adjusted,
                    r.mde,
                    r.lost,
                    r.gained,
                    r.p_tost_adjusted,
                    r.verdict,
                ]
            )
    return buffer.getvalue()


def compare(
    base: Annotated[
        Path, typer.Argument(help="The base run folder (or lm-eval results JSON with samples logs).")
    ],
    candidates: Annotated[
        list[Path], typer.Argument(help="One or more candidate runs, each compared with the base.")
    ],
    format: OutputFormat = "table",
    alpha: Annotated[
        float, typer.Option("--alpha", help="Significance level (after adjustment).", envvar="SOSBENCH_ALPHA")
    ] = 0.05,
    adjust: Annotated[
        str,
        typer.Option(
            "--adjust", help="p-value adjustment across rows: holm, bh or none.", envvar="SOSBENCH_ADJUST"
        ),
    ] = "holm",
    equivalence_margin: Annotated[
        float | None,
        typer.Option(
            "--equivalence-margin",
            help="Points; adds TOST so 'equivalent within M' can be claimed.",
            envvar="SOSBENCH_EQUIVALENCE_MARGIN",
        ),
    ] = None,
    bootstrap: Annotated[
        int, typer.Option("--bootstrap", help="Paired bootstrap rounds.", envvar="SOSBENCH_BOOTSTRAP")
    ] = 2000,
    permutations: Annotated[
        int,
        typer.Option(
            "--permutations",
            help="Sign-flip permutations of the paired test.",
            envvar="SOSBENCH_PERMUTATIONS",
        ),
    ] = 5000,
    seed: Seed = 0,
    allow_partial: Annotated[
        bool,
        typer.Option(
            "--allow-partial/--no-allow-partial",
            help="Factor rows over the shared benchmarks even if some are missing.",
            envvar="SOSBENCH_ALLOW_PARTIAL",
        ),
    ] = False,
    judgments: Annotated[
        Path | None,
        typer.Option(
            "--judgments",
            help="A judge's folder (model_judgment/<judge>/) holding both models.",
            envvar="SOSBENCH_JUDGMENTS",
        ),
    ] = None,
    baseline: Annotated[
        str, typer.Option("--baseline", help="The judge's baseline model.", envvar="SOSBENCH_JUDGE_BASELINE")
    ] = "gpt-4-0314",
) -> None:
    """Paired item-level comparison: score differences, 95% CIs, adjusted tests and a verdict per row.

    Example: `sosbench compare runs/llama3-sft runs/llama3-dpo --equivalence-margin 1`
    """
    check_format(format)
    if permutations < 100:
        raise SosbenchError(f"--permutations must be at least 100, not {permutations}")
    from sosbench.analysis import compare_paths

    comparisons = compare_paths(
        base,
        candidates,
        judgments=judgments,
        baseline=baseline,
        alpha=alpha,
        adjust=adjust,
        margin=equivalence_margin,
        rounds=bootstrap,
        permutations=permutations,
        seed=seed,
        allow_partial=allow_partial,
    )
    err = console_err()
    for c in comparisons:
        for note in c.notes:
            err.print(f"note: {c.candidate}: {note}")
    if format == "json":
        typer.echo(json.dumps({"comparisons": [c.to_json() for c in comparisons]}, indent=2))
    elif format == "csv":
        typer.echo(to_csv(comparisons), nl=False)
    else:
        for c in comparisons:
            print_comparison(c)


def register(app: typer.Typer) -> None:
    """Add `sosbench compare` to the root app."""
    app.command("compare")(compare)
