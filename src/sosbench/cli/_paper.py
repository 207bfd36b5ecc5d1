"""`sosbench paper`: recompute the paper's scores and analyses from its packaged artifacts."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer

from sosbench._defaults import BOOTSTRAP_ROUNDS
from sosbench.cli._common import OutputFormat, check_format, console_err, wide_enough

if TYPE_CHECKING:
    from rich.table import Table

    from sosbench.analysis import PaperAnalysis

from sosbench.cli._score import Bootstrap, Normalize, Seed, print_factor_table


def _pct(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value * 100:+.1f}" if signed else f"{value * 100:.1f}"


def _ci_text(ci: tuple[float, float] | None, scale: float) -> str:
    return "" if ci is None else f" [{ci[0] * scale:+.1f}, {ci[1] * scale:+.1f}]"


def _print_tables(analysis: PaperAnalysis) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from sosbench.analysis import JUDGE_ONLY_GAIN

    console = Console()
    print_factor_table(analysis.scores, f"Paper artifacts: {len(analysis.scores.models)} models")
    arena = Table(title="Arena-Hard score (win rate % vs gpt-4-0314) and LiveBench average")
    for col in ("model", "arena_hard", "livebench_average"):
        arena.add_column(col, justify="left" if col == "model" else "right")
    for m in analysis.scores.models:
        a = analysis.data.arena_hard.get(m.model)
        arena.add_row(
            m.model, f"{a.score:.2f}" if a else "n/a", _pct(analysis.data.livebench_average.get(m.model))
        )
    console.print(arena)
    wide = wide_enough(console, WIDE_LAYOUT)
    corr = Table(title="Arena-Hard vs factor scores (bootstrap 95% CI over models)")
    for col in ("y", "n", "pearson [CI]", "spearman [CI]", "kendall [CI]"):
        corr.add_column(col, justify="left" if col == "y" else "right", no_wrap=True)
    for c in analysis.correlations:
        pairs = ((c.pearson, c.pearson_ci), (c.spearman, c.spearman_ci), (c.kendall, c.kendall_ci))
        gap = " " if wide else "\n"
        cells = (
            escape(f"{v:.2f}{gap}[{ci[0]:.2f}, {ci[1]:.2f}]") for v, ci in pairs
        )  # "[nan, nan]" is no tag
        corr.add_row(c.y, str(c.n), *cells)
    console.print(corr)
    caption = (
        "aggregates only (the artifacts hold no per-item data): 95% CIs analytic from stderr, of independent "
        f"runs, no paired test; ! = {JUDGE_ONLY_GAIN}"
    )
    title = "SFT -> preference optimisation (points, PO minus SFT, [95% CI])"
    console.print(_deltas_table(analysis, title, caption) if wide else _deltas_long(analysis, title, caption))
    r = analysis.rollup
    verdict = "OK" if r.ok else "MISMATCH"
    console.print(
        f"LiveBench roll-up ({r.n_models} models): {verdict}; max |category - mean(tasks)| = "
        f"{r.max_category_diff:.3f}, max |average - mean(categories)| = {r.max_average_diff:.3f} "
        f"(tolerance {r.tolerance}); skipped (empty task cells): {', '.join(r.skipped) or 'none'}"
    )
    reg = Table(title="Factor ~ log10(SFT examples), SFT models of known data size")
    for col in ("factor", "n", "slope per 10x", "intercept", "R^2", "p"):
        reg.add_column(col, justify="left" if col == "factor" else "right")
    for g in analysis.regressions:
        reg.add_row(
            g.factor,
            str(g.n),
            _pct(g.slope, signed=True),
            _pct(g.intercept),
            f"{g.r2:.2f}",
            f"{g.p_value:.3f}",
        )
    console.print(reg)


WIDE_LAYOUT = 200  # columns the one-row-per-pair deltas table needs without cutting a cell


def _deltas_table(analysis: PaperAnalysis, title: str, caption: str) -> Table:
    """One row per SFT -> PO pair (wide terminals)."""
    from rich.table import Table

    from sosbench.scoring import FACTOR_NAMES

    deltas = Table(title=title, caption=caption)
    for col in ("sft", "po", "method", *FACTOR_NAMES, "arena_hard", "judge-only gain"):
        deltas.add_column(col, justify="left" if col in ("sft", "po", "method") else "right")
    for d in analysis.deltas:
        judge = "n/a" if d.arena_hard is None else f"{d.arena_hard:+.2f}" + _ci_text(d.arena_hard_ci, 1.0)
        factors = [
            _pct(d.factors[f], signed=True) + _ci_text(d.factor_ci.get(f), 100.0) for f in FACTOR_NAMES
        ]
        deltas.add_row(d.sft, d.po, d.method, *factors, judge, "!" if d.judge_only_gain else "")
    return deltas


def _deltas_long(analysis: PaperAnalysis, title: str, caption: str) -> Table:
    """One row per pair and measure (narrow terminals): every name and interval stays whole."""
    from rich.table import Table

    from sosbench.scoring import FACTOR_NAMES

    deltas = Table(title=title, caption=caption)
    deltas.add_column("SFT -> PO (method)", overflow="fold")
    for col in ("measure", "diff", "95% CI", "!"):
        deltas.add_column(col, justify="left" if col == "measure" else "right", no_wrap=True)
    for d in analysis.deltas:
        pair = f"{d.sft} -> {d.po} ({d.method})"
        rows = [
            (f, _pct(d.factors[f], signed=True), _ci_text(d.factor_ci.get(f), 100.0)) for f in FACTOR_NAMES
        ]
        judge = "n/a" if d.arena_hard is None else f"{d.arena_hard:+.2f}"
        rows.append(("arena_hard", judge, _ci_text(d.arena_hard_ci, 1.0)))
        for i, (measure, diff, ci) in enumerate(rows):
            flag = "!" if d.judge_only_gain and measure == "arena_hard" else ""
            deltas.add_row(
                pair if i == 0 else "", measure, diff, ci.strip(), flag, end_section=i == len(rows) - 1
            )
    return deltas


def paper(
    format: OutputFormat = "table",
    normalize: Normalize = "none",
    bootstrap: Bootstrap = BOOTSTRAP_ROUNDS,
    seed: Seed = 0,
) -> None:
    """Recompute the paper's scores and analyses from its packaged artifacts (offline).

    Benchmark, factor and Arena-Hard scores of every artifact model; Arena-Hard versus factor
    correlations with bootstrap CIs; SFT -> preference-optimisation deltas; the LiveBench roll-up
    check; factor regressions on SFT data size.

    Example: `sosbench paper --format json > paper.json`
    """
    check_format(format)
    from sosbench.analysis import paper_analysis

    err = console_err()
    with err.status("recomputing the paper") as status:
        analysis = paper_analysis(
            bootstrap=bootstrap, seed=seed, normalize=normalize, on_step=lambda msg: status.update(msg)
        )
    if format == "json":
        typer.echo(json.dumps(analysis.to_json(), indent=2))
    elif format == "csv":
        from sosbench.scoring import to_csv

        typer.echo(to_csv(analysis.scores), nl=False)
    else:
        _print_tables(analysis)


def register(app: typer.Typer) -> None:
    """Add `sosbench paper` to the root app."""
    app.command("paper")(paper)
