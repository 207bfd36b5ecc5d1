"""One self-contained HTML file: tables, inline SVG figures and a few lines of inline JS (no CDN)."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from html import escape
from importlib.resources import files
from pathlib import Path
from string import Template

from sosbench import __version__
from sosbench._io import write_text_atomic
from sosbench.analysis import JUDGE_ONLY_GAIN as DEFINITION
from sosbench.analysis import audit_label
from sosbench.report._cells import num_cell as _num_cell
from sosbench.report._cells import pct as _pct
from sosbench.report._comparison import comparison_section
from sosbench.report._figures import Figure, all_figures
from sosbench.report._model import ReportData, Row
from sosbench.scoring import ANALYTIC, MODEL_BOOTSTRAP, OVERALL
from sosbench.suite import benchmarks


def _factor_cell(row: Row, factor: str) -> str:
    f = row.model.factors[factor]
    if f.score is None:
        missing = f"missing: {', '.join(f.missing)}" if f.missing else "no score"
        return f'<td data-value="" class="incomplete" title="{escape(missing)}">n/a</td>'
    ci = f' <span class="ci">[{_pct(f.ci_low)}, {_pct(f.ci_high)}]</span>' if f.ci_low is not None else ""
    kind = f"95% CI: {f.ci_method}" if f.ci_method else "no CI"
    if f.complete:
        return f'<td data-value="{f.score:.6g}" title="{escape(kind)}">{_pct(f.score)}{ci}</td>'
    why = escape(f"partial, over {f.partial} (--allow-partial); {kind}")
    return f'<td data-value="{f.score:.6g}" class="incomplete" title="{why}">{_pct(f.score)}{ci} *</td>'


def _ci_kinds(data: ReportData) -> str:
    """The kinds of the leaderboard's CIs, as they occur."""
    kinds = sorted({f.ci_method for r in data.rows for f in r.model.factors.values() if f.ci_method})
    return " or ".join(kinds) or "no CI"


def _missing(data: ReportData) -> str:
    """What the models lack for their factors, models with the same gaps together, e.g. 'a, b: WK misses
    gpqa, IF misses 2 benchmarks (ifeval, livebench-instruction-following)'."""
    by_gaps: dict[str, list[str]] = {}
    for row in data.rows:
        gaps = [
            f"{name} misses "
            + (", ".join(f.missing) if len(f.missing) <= 3 else f"{len(f.missing)} benchmarks")
            for name, f in row.model.factors.items()
            if f.missing and name != OVERALL
        ]
        if gaps:
            by_gaps.setdefault(", ".join(gaps), []).append(row.label)
    return "; ".join(f"{', '.join(labels)}: {gaps}" for gaps, labels in by_gaps.items())


def leaderboard(data: ReportData) -> str:
    """The models by Overall, with factor scores and CIs; factor and judge columns no model has are left
    out, and the whole table when no model has any factor score, with why."""
    factors = [f for f in data.factor_names if any(r.factor(f) is not None for r in data.rows)]
    if not factors:
        return (
            '<p class="hidden-panel" id="hidden-leaderboard">Leaderboard not drawn: no model has a complete '
            f"factor score ({escape(_missing(data))}). The per-benchmark breakdown below shows what was run; "
            "--allow-partial averages a factor over the benchmarks present (marked *).</p>"
        )
    judged = any(r.judge is not None for r in data.rows)
    header = "".join(
        f"<th>{escape(h)}</th>" for h in ("model", "from", *factors, *([data.judge_label] if judged else []))
    )
    body = []
    for row in sorted(data.rows, key=lambda r: -(r.factor(OVERALL) or -1.0)):
        cells = [
            f"<td>{escape(row.label)}</td>",
            f"<td>{'yours' if row.origin == 'user' else 'paper'}</td>",
            *(_factor_cell(row, f) for f in factors),
        ]
        if judged:
            cells.append(_num_cell(row.judge, "n/a" if row.judge is None else f"{row.judge:.2f}"))
        cls = ' class="user"' if row.origin == "user" else ""
        body.append(f'<tr{cls} data-model="{escape(row.label)}">{"".join(cells)}</tr>')
    left_out = [f for f in data.factor_names if f not in factors]
    return (
        '<table id="leaderboard" class="sortable"><thead><tr>'
        + header
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table>"
        + f'<p class="meta">Scores 0-100 with [95% CI] ({escape(_ci_kinds(data))}; hover a cell for its '
        "kind); click a column to sort; * = partial factor, averaged over the benchmarks present "
        "(--allow-partial; hover for how many); [N items per task] = a --limit run; n/a = a benchmark of "
        "the factor is missing (hover for which)."
        + (
            f" Not shown: {escape(', '.join(left_out))}, complete for no model ({escape(_missing(data))})."
            if left_out
            else ""
        )
        + ("" if judged else " No judge column: no judge scores (pass --judge-scores or --paper).")
        + "</p>"
    )


def breakdown(data: ReportData) -> str:
    """Every model x every benchmark that some model has (0-100, +- stderr)."""
    suite = [b for b in benchmarks() if any(b.name in r.model.benchmarks for r in data.rows)]
    header = "".join(f"<th>{escape(h)}</th>" for h in ("model", *(f"{b.name} ({b.factor})" for b in suite)))
    body = []
    for row in data.rows:
        cells = [f"<td>{escape(row.label)}</td>"]
        for bench in suite:
            b = row.model.benchmarks.get(bench.name)
            if b is None:
                cells.append('<td data-value="">-</td>')
            else:
                se = f' <span class="ci">&plusmn;{b.stderr * 100:.1f}</span>' if b.stderr is not None else ""
                cells.append(_num_cell(b.score, f"{_pct(b.score)}{se}"))
        cls = ' class="user"' if row.origin == "user" else ""
        body.append(f"<tr{cls}>{''.join(cells)}</tr>")
    absent = [b.name for b in benchmarks() if b not in suite]
    return (
        '<div class="scroll"><table id="breakdown" class="sortable"><thead><tr>'
        + header
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table></div>"
        + '<p class="meta">Scores 0-100; &plusmn; = the analytic stderr (lm-eval\'s, or from the items where '
        "lm-eval leaves it N/A); - = not run by that model."
        + (f" Not shown (no model here has them): {escape(', '.join(absent))}." if absent else "")
        + "</p>"
    )


def _ci_span(ci: tuple[float, float] | None, scale: float, kind: str = ANALYTIC) -> str:
    if ci is None:
        return ""
    shown = f"[{ci[0] * scale:+.1f}, {ci[1] * scale:+.1f}]"
    return f' <span class="ci" title="95% CI, {escape(kind)}">{shown}</span>'


def _figure(fig: Figure) -> str:
    """The figure, or the one line that says why it is not drawn; a note names panels left out."""
    if fig.hidden:
        return f'<p class="hidden-panel" id="hidden-{fig.name}">Not drawn: {escape(fig.hidden)}.</p>'
    note = f'<p class="hidden-panel">{escape(fig.note)}.</p>' if fig.note else ""
    return (
        f'<figure class="figure" id="fig-{fig.name}">{fig.svg}'
        f"<figcaption>{escape(fig.title)}</figcaption></figure>{note}"
    )


def paper_section(data: ReportData) -> str:
    paper = data.paper
    if paper is None:
        return ""
    parts = ["<h2>Paper analyses (recomputed from the artifacts)</h2>"]
    if paper.finding:
        parts.append(f'<p class="finding" id="finding"><strong>Finding:</strong> {escape(paper.finding)}</p>')
    kind = f"95% CI, {MODEL_BOOTSTRAP} ({paper.scores.bootstrap} rounds)"
    rows = "".join(
        f"<tr><td>{escape(c.y)}</td><td>{c.n}</td>"
        + "".join(
            f'<td data-value="{v:.4f}">{v:.2f} <span class="ci" title="{kind}">[{ci[0]:.2f}, {ci[1]:.2f}]'
            "</span></td>"
            for v, ci in ((c.pearson, c.pearson_ci), (c.spearman, c.spearman_ci), (c.kendall, c.kendall_ci))
        )
        + "</tr>"
        for c in paper.correlations
    )
    parts.append(
        "<h3>Arena-Hard score versus factors</h3>"
        f"<p>95% CIs: {MODEL_BOOTSTRAP} ({paper.scores.bootstrap} rounds, seed {paper.scores.seed}): the "
        "models are resampled with replacement and the correlation recomputed; the CI is the 2.5th to "
        "97.5th percentile.</p>"
        '<table id="correlations" class="sortable"><thead><tr><th>y</th><th>n</th>'
        + "".join(f"<th>{m} [95% CI, {MODEL_BOOTSTRAP}]</th>" for m in ("Pearson", "Spearman", "Kendall"))
        + f"</tr></thead><tbody>{rows}</tbody></table>"
    )
    head = "".join(
        f"<th>{h}</th>" for h in ("SFT", "PO", "method", *data.factor_names, "Arena-Hard", "judge-only gain")
    )
    rows = "".join(
        f"<tr><td>{escape(d.sft)}</td><td>{escape(d.po)}</td><td>{escape(d.method)}</td>"
        + "".join(
            _num_cell(d.factors[f], _pct(d.factors[f], signed=True) + _ci_span(d.factor_ci.get(f), 100))
            for f in data.factor_names
        )
        + _num_cell(
            d.arena_hard,
            "n/a" if d.arena_hard is None else f"{d.arena_hard:+.2f}" + _ci_span(d.arena_hard_ci, 1),
        )
        + f"<td>{'yes' if d.judge_only_gain else 'no'}</td></tr>"
        for d in paper.deltas
    )
    parts.append(
        "<h3>SFT to preference optimisation (points, PO minus SFT)</h3>"
        f"<p>95% CIs: {ANALYTIC} of two independent scores (the artifacts hold aggregates only, so nothing "
        f"can be paired). {escape(DEFINITION[0].upper() + DEFINITION[1:])}.</p>"
        f'<table id="deltas" class="sortable"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
    )
    r = paper.rollup
    parts.append(
        f"<h3>LiveBench roll-up</h3><p>{'OK' if r.ok else 'MISMATCH'}: over {r.n_models} models, "
        f"max |category - mean of its tasks| = {r.max_category_diff:.3f} and max |average - mean of "
        "categories| = "
        f"{r.max_average_diff:.3f} points (tolerance {r.tolerance}, the CSVs' rounding). Skipped (empty task "
        "cells): "
        f"{escape(', '.join(r.skipped) or 'none')}.</p>"
    )
    rows = "".join(
        f"<tr><td>{escape(g.factor)}</td><td>{g.n}</td><td>{_pct(g.slope, signed=True)}</td>"
        f"<td>{g.r2:.2f}</td><td>{g.p_value:.3f}</td></tr>"
        for g in paper.regressions
    )
    parts.append(
        "<h3>Factor on SFT data size</h3><p>OLS of each factor on log10(number of SFT conversations), over "
        "the "
        "SFT models whose data size the model mapping records.</p>"
        '<table id="regressions"><thead><tr><th>factor</th><th>n</th><th>slope per 10x data (points)</th>'
        f"<th>R&sup2;</th><th>p</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    return "".join(parts)


def audit_section(data: ReportData) -> str:
    if not data.audit:
        return ""
    rows = []
    for judge in data.audit:
        for kind in ("criteria", "factors"):
            for name, stats in (judge.get(kind) or {}).items():
                stats = stats or {}
                rows.append(
                    f"<tr><td>{escape(audit_label(judge))}</td><td>{kind}</td><td>{escape(str(name))}</td>"
                    + "".join(
                        _num_cell(_float(stats.get(k)), _fmt(stats.get(k)), _why(stats))
                        for k in ("pearson", "spearman")
                    )
                    + f"<td>{escape(str(stats.get('n', '')))}</td></tr>"
                )
    source = f" from <code>{escape(data.audit_source)}</code>" if data.audit_source else ""
    return (
        "<h2>Judge audit</h2><p>Correlations of each judge's overall score with its criteria and with the "
        f"factors{source}; n/a = undefined (fewer than 3 models, or a constant score: hover for which).</p>"
        '<table id="audit" '
        'class="sortable"><thead><tr><th>judge</th><th>kind</th><th>name</th><th>Pearson</th>'
        f"<th>Spearman</th><th>n</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _why(stats: dict) -> str:
    """The audit's reason for an undefined correlation, as the n/a cell's tooltip."""
    return f' title="undefined: {escape(str(stats["why"]))}"' if stats.get("why") else ""


def card_section(data: ReportData) -> str:
    """The judge-bias cards of the audit as one section: the findings first, then each card's table."""
    cards = [(judge, card) for judge in data.audit or [] for card in judge.get("cards") or []]
    if not cards:
        return ""
    findings = "".join(f"<li>{escape(str(card.get('finding', '')))}</li>" for _, card in cards)
    tables = []
    for judge, card in cards:
        rows = "".join(
            f"<tr><td>{escape(str(model))}</td>"
            + "".join(_num_cell(_float(row.get(k)), _fmt1(row.get(k))) for k in ("raw", "controlled"))
            + _num_cell(_float(row.get("shift")), _fmt1(row.get("shift"), signed=True))
            + "</tr>"
            for model, row in (card.get("models") or {}).items()
        )
        prices = "".join(
            f"<li>{escape(str(feature))}: {_fmt1(c.get('points'), True)} points "
            f"{escape(str(c.get('reader_unit')))} (95% CI {_fmt1(c.get('points_lower'), True)} to "
            f"{_fmt1(c.get('points_upper'), True)})</li>"
            for feature, c in (card.get("coefficients") or {}).items()
        )
        tables.append(
            f"<h3>{escape(str(judge.get('judge')))}: {escape(str(card.get('estimator')))}, "
            f"{escape(str(card.get('category', '')))}</h3><ul>{prices}</ul>"
            '<table class="sortable card"><thead><tr><th>model</th><th>raw</th><th>style-controlled</th>'
            f"<th>shift</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    return (
        "<h2>Judge-bias card</h2><p>Does the judge pay for style, and does style control bring its ranking "
        "closer to SOS-Bench's ground truth? Scores are win rates against the baseline (%); prices of style "
        "are points of win rate at an even match (docs/judge.md).</p>"
        f'<ul class="findings">{findings}</ul>{"".join(tables)}'
    )


def _fmt1(value: object, signed: bool = False) -> str:
    v = _float(value)
    return "n/a" if v is None else f"{v:+.1f}" if signed else f"{v:.1f}"


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _fmt(value: object) -> str:
    v = _float(value)
    return "n/a" if v is None else f"{v:.2f}"


METHODS = (
    "<h2>How the scores are computed</h2><p>Every benchmark is on a 0-1 scale (shown as 0-100): a "
    "leaderboard "
    "benchmark is the unweighted mean of its subtasks (BBH, GPQA, MuSR acc_norm; MATH level 5 exact_match; "
    "MMLU-Pro acc); IFEval is the mean of its four metrics; safety benchmarks use acc; BBQ the size-weighted "
    "group acc; WMDP 1 - size-weighted group acc; a LiveBench category its score / 100. A factor is the "
    "unweighted mean of its benchmarks (WK 10, IF 2, Safety 12) and Overall the mean of the three factors. "
    "95% CIs come from a seeded bootstrap over items where per-sample logs exist, otherwise from the stderrs "
    "(&plusmn;1.96 &middot; sqrt(&Sigma; se&sup2;) / K). See docs/scoring.md.</p>"
)


def render_html(data: ReportData, figures: list[Figure]) -> str:
    sections = ["<h2>Leaderboard</h2>", leaderboard(data)]
    if data.notes:
        sections.append('<ul class="notes">' + "".join(f"<li>{escape(n)}</li>" for n in data.notes) + "</ul>")
    by_name = {f.name: f for f in figures}
    if "factor_bars" in by_name:
        sections += ["<h2>Factor scores</h2>", _figure(by_name["factor_bars"])]
    sections += ["<h2>Per-benchmark breakdown</h2>", breakdown(data)]
    if "judge_scatter" in by_name:
        sections += ["<h2>Judge score versus factors</h2>", _figure(by_name["judge_scatter"])]
    if "correlation_heatmap" in by_name:
        sections += ["<h2>Correlations</h2>", _figure(by_name["correlation_heatmap"])]
    sections.append(comparison_section(data))
    sections.append(paper_section(data))
    sections.append(audit_section(data))
    sections.append(card_section(data))
    if "audit_heatmap" in by_name:
        sections.append(_figure(by_name["audit_heatmap"]))
    sections.append(METHODS)
    n_user = sum(r.origin == "user" for r in data.rows)
    meta = (
        f"sosbench {__version__}; generated "
        f"{_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}; "
        f"{n_user} of your models, {len(data.rows) - n_user} paper models"
        + (f"; inputs: {escape(', '.join(data.inputs))}" if data.inputs else "")
    )
    template = Template(files("sosbench").joinpath("data/report/template.html").read_text(encoding="utf-8"))
    return template.substitute(title="SOS-Bench report", meta=meta, body="\n".join(s for s in sections if s))


def write_html_report(
    data: ReportData,
    out: Path,
    *,
    png_dir: Path | None = None,
    on_step: Callable[[str], None] | None = None,
) -> tuple[Path, list[Figure]]:
    """Draw the figures, write the HTML atomically, and return its path and the figures (PNG paths set)."""
    step = on_step or (lambda _msg: None)
    step("drawing figures")
    figures = all_figures(data, png_dir)
    step("writing HTML")
    html = render_html(data, figures)
    write_text_atomic(out, html)
    return out, figures
