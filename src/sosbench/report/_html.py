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
from sosbench.report._figures import Figure, all_figures
from sosbench.report._model import ReportData, Row
from sosbench.scoring import ANALYTIC, MODEL_BOOTSTRAP, OVERALL
from sosbench.suite import benchmarks


def _pct(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value * 100:+.1f}" if signed else f"{value * 100:.1f}"


def _num_cell(value: float | None, text: str | None = None, extra: str = "") -> str:
    data = "" if value is None else f"{value:.6g}"
    return f'<td data-value="{data}"{extra}>{text if text is not None else _pct(value)}</td>'


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


def leaderboard(data: ReportData) -> str:
    header = "".join(
        f"<th>{escape(h)}</th>" for h in ("model", "from", *data.factor_names, f"{data.judge_label}")
    )
    body = []
    for row in sorted(data.rows, key=lambda r: -(r.factor(OVERALL) or -1.0)):
        cells = [
            f"<td>{escape(row.label)}</td>",
            f"<td>{'yours' if row.origin == 'user' else 'paper'}</td>",
            *(_factor_cell(row, f) for f in data.factor_names),
            _num_cell(row.judge, "n/a" if row.judge is None else f"{row.judge:.2f}"),
        ]
        cls = ' class="user"' if row.origin == "user" else ""
        body.append(f'<tr{cls} data-model="{escape(row.label)}">{"".join(cells)}</tr>')
    return (
        '<table id="leaderboard" class="sortable"><thead><tr>'
        + header
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table>"
        + f'<p class="meta">Scores 0-100 with [95% CI] ({escape(_ci_kinds(data))}; hover a cell for its '
        "kind); click a column to sort; * = partial factor, averaged over the benchmarks present "
        "(--allow-partial; hover for how many); [N items per task] = a --limit run; n/a = a benchmark of "
        "the factor is missing (hover for which).</p>"
    )


def breakdown(data: ReportData) -> str:
    suite = benchmarks()
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
    return (
        '<div class="scroll"><table id="breakdown" class="sortable"><thead><tr>'
        + header
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table></div>"
        + '<p class="meta">Scores 0-100; &plusmn; = the analytic stderr (lm-eval\'s, or from the items where '
        "lm-eval leaves it N/A).</p>"
    )


def _partial_mark(partial: str | None) -> str:
    if not partial:
        return ""
    return f' <span class="ci" title="partial, over {escape(partial)} (--allow-partial)">*</span>'


def comparison_section(data: ReportData) -> str:
    """`sosbench compare` as a table, and the items where the two models differ (filterable, searchable)."""
    c = data.comparison
    if c is None:
        return ""
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "row",
            "n",
            "base",
            "candidate",
            "diff",
            "95% CI",
            "test",
            "p adjusted",
            "MDE",
            "lost / gained",
            "verdict",
        )
    )
    rows = "".join(
        f'<tr class="verdict-{r.verdict.replace(" ", "-")}">'
        f"<td>{escape(r.name)}{_partial_mark(r.partial)}</td>"
        f'<td data-value="{r.n}">{r.n}</td>'
        + _num_cell(r.base)
        + _num_cell(r.candidate)
        + _num_cell(r.diff, _pct(r.diff, signed=True))
        + f'<td title="{escape(r.ci_kind)}">[{_pct(r.ci[0], signed=True)}, {_pct(r.ci[1], signed=True)}]</td>'
        + f"<td>{escape(r.test)}</td>"
        + _num_cell(r.p_adjusted, f"{r.p_adjusted:.3g}")
        + _num_cell(r.mde)
        + f"<td>{'-' if r.lost is None else f'{r.lost} / {r.gained}'}</td><td>{escape(r.verdict)}</td></tr>"
        for r in c.rows
    )
    notes = "".join(f"<li>{escape(n)}</li>" for n in c.notes)
    items = c.differing_items
    options = "".join(
        f'<option value="{escape(b)}">{escape(b)}</option>' for b in sorted({i["benchmark"] for i in items})
    )
    item_rows = "".join(
        f'<tr data-benchmark="{escape(i["benchmark"])}"><td>{escape(i["benchmark"])}</td>'
        f"<td>{escape(i['item'])}</td>"
        f'<td class="text">{escape(i["prompt"])}</td><td class="text">{escape(i["base_response"])}</td>'
        f'<td class="text">{escape(i["candidate_response"])}</td><td class="text">{escape(i["gold"])}</td>'
        f"<td>{i['base_score']:.2f}</td><td>{i['candidate_score']:.2f}</td></tr>"
        for i in items
    )
    view = (
        f"<p>{c.differing_total} items scored differently"
        + (f" (the first {len(items)} are listed)" if c.differing_total > len(items) else "")
        + '. <select id="item-benchmark"><option value="">all benchmarks</option>'
        f'{options}</select> <input id="item-search" type="search" placeholder="search prompts and '
        'responses"></p>'
        '<div class="scroll"><table id="items"><thead><tr><th>benchmark</th><th>item</th><th>prompt</th>'
        f"<th>{escape(c.base)}</th><th>{escape(c.candidate)}</th><th>gold</th><th>base score</th>"
        f"<th>candidate score</th></tr></thead><tbody>{item_rows}</tbody></table></div>"
        if items
        else "<p>No item is scored differently by the two runs.</p>"
    )
    return (
        f"<h2>Comparison: {escape(c.candidate)} versus {escape(c.base)}</h2>"
        f'<p class="summary"><strong>{escape(c.summary)}</strong></p>'
        f"<p>Candidate minus base, points. 95% CIs: {escape(' / '.join(sorted({r.ci_kind for r in c.rows})))}"
        " "
        f"({c.rounds} rounds, seed {c.seed}); p-values adjusted ({escape(c.adjust)}) across the rows; alpha "
        f"{c.alpha}; MDE = minimum detectable effect at 80% power"
        + ("" if c.normalize == "none" else f"; --normalize {escape(c.normalize)}")
        + "; * = partial factor row (--allow-partial). See docs/compare.md.</p>"
        f'<table id="comparison" class="sortable"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
        + (f'<ul class="notes">{notes}</ul>' if notes else "")
        + "<h3>Items where the two models differ</h3>"
        + view
    )


def _ci_span(ci: tuple[float, float] | None, scale: float) -> str:
    if ci is None:
        return ""
    return f' <span class="ci">[{ci[0] * scale:+.1f}, {ci[1] * scale:+.1f}]</span>'


def _figure(fig: Figure) -> str:
    return (
        f'<figure class="figure" id="fig-{fig.name}">{fig.svg}'
        f"<figcaption>{escape(fig.title)}</figcaption></figure>"
    )


def paper_section(data: ReportData) -> str:
    paper = data.paper
    if paper is None:
        return ""
    parts = ["<h2>Paper analyses (recomputed from the artifacts)</h2>"]
    rows = "".join(
        f"<tr><td>{escape(c.y)}</td><td>{c.n}</td>"
        + "".join(
            f'<td data-value="{v:.4f}">{v:.2f} <span class="ci">[{ci[0]:.2f}, {ci[1]:.2f}]</span></td>'
            for v, ci in ((c.pearson, c.pearson_ci), (c.spearman, c.spearman_ci), (c.kendall, c.kendall_ci))
        )
        + "</tr>"
        for c in paper.correlations
    )
    parts.append(
        "<h3>Arena-Hard score versus factors</h3>"
        f"<p>95% CIs: {MODEL_BOOTSTRAP} ({paper.scores.bootstrap} rounds, seed {paper.scores.seed}).</p>"
        '<table id="correlations" class="sortable"><thead><tr>'
        "<th>y</th><th>n</th><th>Pearson [95% CI]</th><th>Spearman [95% CI]</th><th>Kendall [95% CI]</th>"
        f"</tr></thead><tbody>{rows}</tbody></table>"
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
                    f"<tr><td>{escape(str(judge.get('judge')))}</td><td>{kind}</td><td>{escape(str(name))}</td>"
                    + "".join(
                        _num_cell(_float(stats.get(k)), _fmt(stats.get(k))) for k in ("pearson", "spearman")
                    )
                    + f"<td>{escape(str(stats.get('n', '')))}</td></tr>"
                )
    source = f" from <code>{escape(data.audit_source)}</code>" if data.audit_source else ""
    return (
        "<h2>Judge audit</h2><p>Correlations of each judge's overall score with its criteria and with the "
        f"factors{source}.</p>"
        '<table id="audit" '
        'class="sortable"><thead><tr><th>judge</th><th>kind</th><th>name</th><th>Pearson</th>'
        f"<th>Spearman</th><th>n</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


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
    else:
        sections.append(
            "<h2>Judge score versus factors</h2><p>No judge scores: pass --judge-scores or --paper.</p>"
        )
    if "correlation_heatmap" in by_name:
        sections += ["<h2>Correlations</h2>", _figure(by_name["correlation_heatmap"])]
    sections.append(comparison_section(data))
    sections.append(paper_section(data))
    sections.append(audit_section(data))
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
