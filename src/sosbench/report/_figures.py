"""The report's figures, drawn with matplotlib (Agg) and returned as inline SVG and optionally PNG.

SVG keeps the HTML self-contained and crisp; text stays text (``svg.fonttype: none``) and each
figure gets its own id salt so several SVGs can share one page without clashing ids.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from sosbench.analysis import audit_label
from sosbench.report._model import ReportData
from sosbench.scoring import OVERALL

PAPER_COLOR = "#8c8c8c"
USER_COLOR = "#d62728"
FACTOR_COLORS = {"WK": "#1f77b4", "IF": "#2ca02c", "Safety": "#9467bd", OVERALL: "#ff7f0e"}


@dataclass(frozen=True)
class Figure:
    """One rendered figure: its id in the page, a caption, the SVG markup and (optionally) a PNG path.

    A figure with nothing to show is not drawn: ``hidden`` says why (one line in the page instead); ``note``
    names the panels of a drawn figure that were left out, and why.
    """

    name: str
    title: str
    svg: str
    png: Path | None = None
    hidden: str = ""
    note: str = ""


def hidden(name: str, title: str, why: str) -> Figure:
    """A figure left out of the page, with the one-line reason shown instead."""
    return Figure(name, title, "", hidden=why)


def _pyplot():
    from sosbench.errors import require

    require("matplotlib", "report")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _render(
    fig: Any,
    name: str,
    title: str,
    png_dir: Path | None,
    hover: dict[str, str] | None = None,
    note: str = "",
) -> Figure:
    """SVG (and PNG) of a figure; ``hover`` maps artist gids to the tooltip (SVG <title>) each one gets."""
    plt = _pyplot()
    buffer = io.StringIO()
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": f"sosbench-{name}"}):
        fig.savefig(buffer, format="svg", bbox_inches="tight")
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    for gid, text in (hover or {}).items():
        svg = svg.replace(f'<g id="{gid}">', f'<g id="{gid}" class="point"><title>{escape(text)}</title>', 1)
    png = None
    if png_dir is not None:
        png_dir.mkdir(parents=True, exist_ok=True)
        png = png_dir / f"{name}.png"
        tmp = png_dir / f".{name}.png.tmp"
        fig.savefig(tmp, format="png", dpi=150, bbox_inches="tight")
        tmp.replace(png)
    plt.close(fig)
    return Figure(name, title, svg, png, note=note)


def _left_out(names: list[str], why: str) -> str:
    return f"{', '.join(names)}: not drawn, {why}" if names else ""


NO_FACTOR = (
    "no model has a complete score (a benchmark of it is missing; --allow-partial averages over the rest)"
)


def factor_bars(data: ReportData, png_dir: Path | None) -> Figure:
    """One panel per factor with a score: models sorted by score, 95% CI as error bars, your models in red."""
    title = "Factor scores with 95% confidence intervals"
    scored_by_factor = {
        f: sorted(((r, s) for r in data.rows if (s := r.factor(f)) is not None), key=lambda rs: rs[1])
        for f in data.factor_names
    }
    factors = [f for f, scored in scored_by_factor.items() if scored]
    if not factors:
        return hidden("factor_bars", title, f"no factor to draw: {NO_FACTOR}")
    plt = _pyplot()
    height = max(3.0, 0.22 * max(len(v) for v in scored_by_factor.values()) + 1.2)
    fig, axes = plt.subplots(1, len(factors), figsize=(4.2 * len(factors), height), squeeze=False)
    for ax, factor in zip(axes[0], factors, strict=True):
        rows = [r for r, _ in scored_by_factor[factor]]
        values = [s for _, s in scored_by_factor[factor]]
        y = np.arange(len(rows))
        scores = np.array([s * 100 for s in values])
        low = np.array([(s - (r.ci(factor)[0] or s)) * 100 for r, s in zip(rows, values, strict=True)])
        high = np.array([((r.ci(factor)[1] or s) - s) * 100 for r, s in zip(rows, values, strict=True)])
        colors = [USER_COLOR if r.origin == "user" else FACTOR_COLORS.get(factor, PAPER_COLOR) for r in rows]
        ax.barh(
            y,
            scores,
            xerr=[low, high],
            color=colors,
            ecolor="#333333",
            capsize=2,
            height=0.7,
        )
        ax.set_yticks(y, [r.label for r in rows], fontsize=7)
        ax.set_xlabel(f"{factor} score (0-100)")
        ax.set_title(factor)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle("Factor scores with 95% confidence intervals (red: your models)")
    fig.tight_layout()
    empty = [f for f in data.factor_names if f not in factors]
    return _render(fig, "factor_bars", title, png_dir, note=_left_out(empty, NO_FACTOR))


def judge_scatter(data: ReportData, png_dir: Path | None) -> Figure:
    """Judge score (x) against each factor (y), with an OLS line and Pearson r per panel."""
    title = "Judge score versus factor scores"
    rows = [r for r in data.rows if r.judge is not None]
    if len(rows) < 2:
        why = "one model has a judge score" if rows else "no judge scores: pass --judge-scores or --paper"
        return hidden("judge_scatter", title, why)
    points_by_factor = {
        f: [(r.judge, s * 100, r) for r in rows if (s := r.factor(f)) is not None] for f in data.factor_names
    }
    factors = [f for f, points in points_by_factor.items() if points]
    if not factors:
        return hidden("judge_scatter", title, "no model has both a judge score and a complete factor score")
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(factors), figsize=(4.2 * len(factors), 4.0), squeeze=False)
    hover: dict[str, str] = {}
    for ax, factor in zip(axes[0], factors, strict=True):
        points = points_by_factor[factor]
        x = np.array([p[0] for p in points], dtype=float)
        y = np.array([p[1] for p in points], dtype=float)
        for xi, yi, row in points:
            gid = f"pt-{factor}-{len(hover)}"
            color = USER_COLOR if row.origin == "user" else PAPER_COLOR
            ax.scatter([xi], [yi], c=color, s=22, edgecolors="black", linewidths=0.3, zorder=3, gid=gid)
            hover[gid] = (
                f"{row.label} ({'yours' if row.origin == 'user' else 'paper'}): {data.judge_label} {xi:.1f}, "
                f"{factor} {yi:.1f}"
            )
            if row.origin == "user":
                ax.annotate(row.label, (xi, yi), fontsize=7, xytext=(3, 3), textcoords="offset points")
        title = factor
        if len(points) >= 3 and np.ptp(x) > 0 and np.ptp(y) > 0:
            slope, intercept = np.polyfit(x, y, 1)
            grid = np.linspace(x.min(), x.max(), 50)
            ax.plot(grid, slope * grid + intercept, color="black", linewidth=1)
            r = float(np.corrcoef(x, y)[0, 1])
            title = f"{factor}: r = {r:.2f} (n = {len(points)})"
        ax.set_title(title)
        ax.set_xlabel(f"{data.judge_label} score")
        ax.set_ylabel(f"{factor} (0-100)")
        ax.grid(alpha=0.3)
    fig.suptitle("LLM-judge score versus SOS-Bench factors (grey: paper models, red: yours)")
    fig.tight_layout()
    empty = [f for f in data.factor_names if f not in factors]
    why = "no model has both a judge score and a complete score of it"
    return _render(fig, "judge_scatter", title, png_dir, hover, note=_left_out(empty, why))


def _heatmap(
    matrix: np.ndarray,
    rows: list[str],
    cols: list[str],
    title: str,
    name: str,
    png_dir: Path | None,
    note: str = "",
) -> Figure:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(1.1 * len(cols) + 2.5, 0.6 * len(rows) + 1.8))
    shown = np.ma.masked_invalid(matrix)
    image = ax.imshow(shown, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    ax.set_xticks(range(len(cols)), cols, rotation=35, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    for i in range(len(rows)):
        for j in range(len(cols)):
            value = matrix[i, j]
            text = "n/a" if not math.isfinite(value) else f"{value:.2f}"
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=7,
                color="white" if abs(value) > 0.6 else "black",
            )
    fig.colorbar(image, ax=ax, label="Pearson r")
    ax.set_title(title)
    fig.tight_layout()
    return _render(fig, name, title, png_dir, note=note)


UNDEFINED = "every correlation is undefined (fewer than 3 models have both values, or one is constant)"


def correlation_heatmap(data: ReportData, png_dir: Path | None) -> Figure:
    """Pairwise Pearson r (over models having both) among the judge score and every factor; a measure with
    no defined correlation is left out, and the figure too when fewer than two measures remain."""
    title = "Correlation between measures (Pearson r, pairwise over models)"
    series = data.series()
    names = list(series)
    matrix = np.full((len(names), len(names)), np.nan)
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            common = [m for m in series[a] if m in series[b]]
            if len(common) >= 3:
                xa = np.array([series[a][m] for m in common])
                xb = np.array([series[b][m] for m in common])
                if np.ptp(xa) > 0 and np.ptp(xb) > 0:
                    matrix[i, j] = float(np.corrcoef(xa, xb)[0, 1])
    off_diagonal = np.where(np.eye(len(names), dtype=bool), np.nan, matrix)
    keep = [i for i in range(len(names)) if np.isfinite(off_diagonal[i]).any()]
    if len(keep) < 2:
        return hidden("correlation_heatmap", title, f"no two measures to correlate: {UNDEFINED}")
    dropped = [names[i] for i in range(len(names)) if i not in keep]
    why = "no correlation of it is defined (fewer than 3 models have it and another measure)"
    return _heatmap(
        matrix[np.ix_(keep, keep)],
        [names[i] for i in keep],
        [names[i] for i in keep],
        title,
        "correlation_heatmap",
        png_dir,
        _left_out(dropped, why),
    )


def _pearson(stats: object) -> float:
    """A criterion's Pearson r from the audit, NaN when missing or null (undefined correlation)."""
    value = stats.get("pearson") if isinstance(stats, dict) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else float("nan")


def audit_heatmap(data: ReportData, png_dir: Path | None) -> Figure | None:
    """Judge criteria versus the judge's overall score, from the judge audit file (Pearson r); judges and
    criteria without a defined correlation are left out."""
    if not data.audit:
        return None
    title = "Judge audit: criterion vs overall judge score (Pearson r)"
    judges = [j for j in data.audit if j.get("criteria")]
    if not judges:
        return hidden("audit_heatmap", title, "the audit's judges have no criterion verdicts")
    criteria = list(dict.fromkeys(c for j in judges for c in j["criteria"]))
    matrix = np.array([[_pearson(j["criteria"].get(c)) for c in criteria] for j in judges])
    rows = [i for i in range(len(judges)) if np.isfinite(matrix[i]).any()]
    cols = [k for k in range(len(criteria)) if np.isfinite(matrix[:, k]).any()]
    if not rows:
        return hidden("audit_heatmap", title, UNDEFINED)
    dropped = [criteria[k] for k in range(len(criteria)) if k not in cols] + [
        audit_label(judges[i]) for i in range(len(judges)) if i not in rows
    ]
    return _heatmap(
        matrix[np.ix_(rows, cols)],
        [audit_label(judges[i]) for i in rows],
        [criteria[k] for k in cols],
        title,
        "audit_heatmap",
        png_dir,
        _left_out(dropped, "no correlation of it is defined (see the audit table)"),
    )


def all_figures(data: ReportData, png_dir: Path | None) -> list[Figure]:
    """Every figure of the page, in page order; one with nothing to show comes ``hidden``, with why."""
    figures = [
        factor_bars(data, png_dir),
        judge_scatter(data, png_dir),
        correlation_heatmap(data, png_dir),
        audit_heatmap(data, png_dir),
    ]
    return [f for f in figures if f is not None]
