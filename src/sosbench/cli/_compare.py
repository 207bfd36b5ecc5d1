"""`sosbench compare`: did the candidate really get better than the base? Paired item-level tests."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sosbench._defaults import BOOTSTRAP_ROUNDS, PERMUTATIONS
from sosbench.cli._common import OutputFormat, check_format, console_err, plural
from sosbench.cli._score import AllowPartial, Normalize, Seed

if TYPE_CHECKING:
    from rich.table import Table

    from sosbench.analysis import Comparison, Row

# Shared with `sosbench report --compare`.
Judgments = Annotated[
    Path | None,
    typer.Option(
        "--judgments",
        "-J",
        help="A judge's folder (model_judgment/<judge>/) holding both models: adds the judge's row and its "
        "judged questions.",
        envvar="SOSBENCH_JUDGMENTS",
    ),
]
JudgeBaseline = Annotated[
    str | None,
    typer.Option(
        "--baseline",
        help="The judge's baseline model (default: gpt-4-0314 for Arena-Hard-Auto v0.1 judgments; v2.0 "
        "judgments use their category's own, hard_prompt's o3-mini-2025-01-31 first).",
        envvar="SOSBENCH_JUDGE_BASELINE",
    ),
]

CSV_FIELDS = (
    "candidate",
    "name",
    "kind",
    "partial",
    "n",
    "base",
    "candidate_score",
    "diff",
    "ci_low",
    "ci_high",
    "ci_kind",
    "test",
    "p",
    "p_adjusted",
    "mde",
    "lost",
    "gained",
    "p_tost_adjusted",
    "verdict",
)
# The narrow layout's abbreviations, spelt out in the legend under the tables.
SHORT_VERDICT = {"no detectable change": "n.d.", "equivalent": "equiv."}
SHORT_TEST = {"exact McNemar": "McN", "paired permutation": "perm", "bootstrap over battles": "BT"}
SHORT_PREFIX = ("livebench-", "lb-")


def _points(x: float) -> str:
    return f"{x * 100:+.1f}"


def _name(r: Row, short: bool) -> str:
    name = r.name
    if short and r.kind == "judge":
        name = "judge"
    elif short and name.startswith(SHORT_PREFIX[0]):
        name = SHORT_PREFIX[1] + name[len(SHORT_PREFIX[0]) :]
    return f"{name} *" if r.partial else name


def _flips(r: Row) -> str:
    return f"{r.lost}/{r.gained}" if r.lost is not None else "-"


def _table(title: str, columns: tuple[str, ...], left: tuple[str, ...]) -> Table:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in columns:
        # A row name longer than any the suite has (a plugin benchmark) wraps rather than being cut.
        table.add_column(
            column, justify="left" if column in left else "right", no_wrap=column != "row", overflow="fold"
        )
    return table


def _wide(c: Comparison) -> Table:
    """Every column in one table (wide terminals)."""
    table = _table(
        f"{c.candidate} vs {c.base} (candidate - base, points)",
        ("row", "n", "base", "cand", "diff", "95% CI", "test", "p adj", "MDE", "lost/gained", "verdict"),
        ("row", "test", "verdict"),
    )
    for r in c.rows:
        table.add_row(
            _name(r, short=False),
            str(r.n),
            f"{r.base * 100:.1f}",
            f"{r.candidate * 100:.1f}",
            _points(r.diff),
            f"[{_points(r.ci[0])}, {_points(r.ci[1])}]",
            r.test,
            f"{r.p_adjusted:.3g}",
            f"{r.mde * 100:.1f}",
            _flips(r),
            r.verdict,
        )
    return table


def _p(value: float) -> str:
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _narrow(c: Comparison) -> list[Table]:
    """The same rows in two tables that each fit 80 columns: the differences, then the tests."""
    diffs = _table(
        f"{c.candidate} vs {c.base}: differences (points)",
        ("row", "base", "cand", "diff", "95% CI", "verdict"),
        ("row", "verdict"),
    )
    tests = _table("tests", ("row", "n", "test", "p adj", "MDE", "-/+"), ("row", "test"))
    for r in c.rows:
        name = _name(r, short=True)
        diffs.add_row(
            name,
            f"{r.base * 100:.1f}",
            f"{r.candidate * 100:.1f}",
            _points(r.diff),
            f"[{_points(r.ci[0])}, {_points(r.ci[1])}]",
            SHORT_VERDICT.get(r.verdict, r.verdict),
        )
        tests.add_row(
            name, str(r.n), SHORT_TEST.get(r.test, r.test), _p(r.p_adjusted), f"{r.mde * 100:.1f}", _flips(r)
        )
    return [diffs, tests]


def legend(c: Comparison, short: bool) -> list[str]:
    """What the table's marks and abbreviations mean, and what kind each CI is."""
    kinds = sorted({r.ci_kind for r in c.rows})
    lines = [
        f"95% CI: {' / '.join(kinds)} ({c.rounds} rounds, seed {c.seed}); p adjusted: {c.adjust}; "
        f"MDE = minimum detectable effect at 80% power, alpha {c.alpha}"
        + ("" if c.normalize == "none" else f"; --normalize {c.normalize}")
    ]
    lines += [f"* {r.name}: partial, over {r.partial} (--allow-partial)" for r in c.rows if r.partial]
    lines += [f"{r.name}: n = questions judged for both models" for r in c.rows if r.kind == "judge"]
    if short:
        judge = next((r.name for r in c.rows if r.kind == "judge"), None)
        lines.append(
            "lb- = livebench-; n.d. = no detectable change; equiv. = equivalent within the margin (TOST); "
            "McN = exact McNemar, perm = paired permutation, BT = bootstrap over battles; "
            "-/+ = items lost/gained" + (f"; judge = {judge}" if judge else "")
        )
    return lines


def print_comparison(comparison: Comparison) -> None:
    """The table (one wide, or split in two at 80 columns), its legend and the one-line summary."""
    from rich.console import Console

    from sosbench.cli._tables import print_first_fitting

    console = Console()
    short = print_first_fitting(console, [[_wide(comparison)], _narrow(comparison)]) == 1
    for line in legend(comparison, short):
        console.print(line, highlight=False, markup=False)
    console.print(f"summary: {comparison.summary}", highlight=False, markup=False)


def to_csv(comparisons: list[Comparison]) -> str:
    """One row per compared quantity; each comparison's summary and notes as ``# `` lines on top."""
    buffer = io.StringIO()
    for c in comparisons:
        for line in (f"summary: {c.summary}", *c.notes):
            buffer.write(f"# {c.candidate}: {line}\n")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for c in comparisons:
        for r in c.rows:
            writer.writerow(
                [
                    c.candidate,
                    r.name,
                    r.kind,
                    r.partial or "",
                    r.n,
                    r.base,
                    r.candidate,
                    r.diff,
                    r.ci[0],
                    r.ci[1],
                    r.ci_kind,
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


def write_items(path: Path, comparisons: list[Comparison]) -> None:
    """The per-item view as JSONL, one line per item scored differently, each naming its candidate."""
    from sosbench._io import write_jsonl_atomic

    rows = ({"base": c.base, "candidate": c.candidate, **i} for c in comparisons for i in c.differing_items)
    write_jsonl_atomic(path, rows)


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
        int,
        typer.Option(
            "--bootstrap", help="Paired bootstrap rounds (100 or more).", envvar="SOSBENCH_BOOTSTRAP"
        ),
    ] = BOOTSTRAP_ROUNDS,
    permutations: Annotated[
        int,
        typer.Option(
            "--permutations",
            help="Sign-flip permutations of the paired test.",
            envvar="SOSBENCH_PERMUTATIONS",
        ),
    ] = PERMUTATIONS,
    seed: Seed = 0,
    allow_partial: AllowPartial = False,
    normalize: Normalize = "none",
    judgments: Judgments = None,
    baseline: JudgeBaseline = None,
    items: Annotated[
        Path | None,
        typer.Option(
            "--items",
            help="Write every item the two runs score differently here (JSONL: question, few-shot prefix, "
            "both responses, gold, scores, judge verdicts).",
            envvar="SOSBENCH_ITEMS",
        ),
    ] = None,
) -> None:
    """Paired item-level comparison: score differences, 95% CIs, adjusted tests and a verdict per row.

    Example: `sosbench compare runs/llama3-sft runs/llama3-dpo --equivalence-margin 1 --items items.jsonl`
    """
    check_format(format)
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
        normalize=normalize,
        item_limit=None if items else 0,
    )
    err = console_err()
    for c in comparisons:
        for note in c.notes:
            err.print(f"note: {c.candidate}: {note}", highlight=False, markup=False)
    if items is not None:
        write_items(items, comparisons)
        total = sum(len(c.differing_items) for c in comparisons)
        err.print(f"wrote {plural(total, 'item')} scored differently to {items}")
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
