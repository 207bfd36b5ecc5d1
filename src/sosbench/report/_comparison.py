"""The report's comparison section: `sosbench compare` as a table, and the per-item view of the items the two
runs score differently (filterable by benchmark, searchable)."""

from __future__ import annotations

from html import escape
from typing import Any

from sosbench.analysis import Comparison
from sosbench.report._cells import num_cell, pct
from sosbench.report._model import ReportData

COLUMNS = (
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
HOW_TO_READ = (
    "Multiple choice shows the option each model chose (as lm-eval scores it: the highest log-likelihood, "
    "per character of the option for acc_norm) and the gold option; a few-shot prompt shows its last "
    "question, with the examples before it folded (click to open); a judged question shows the judge's "
    "verdicts of each model against the baseline, game by game, and scores are the model's weighted "
    "outcome on it (1 = won both games)."
)


def _partial_mark(partial: str | None) -> str:
    if not partial:
        return ""
    return f' <span class="ci" title="partial, over {escape(partial)} (--allow-partial)">*</span>'


def _table(c: Comparison) -> str:
    head = "".join(f"<th>{h}</th>" for h in COLUMNS)
    rows = "".join(
        f'<tr class="verdict-{r.verdict.replace(" ", "-")}">'
        f"<td>{escape(r.name)}{_partial_mark(r.partial)}</td>"
        f'<td data-value="{r.n}" title="{"questions" if r.kind == "judge" else "items"}">{r.n}</td>'
        + num_cell(r.base)
        + num_cell(r.candidate)
        + num_cell(r.diff, pct(r.diff, signed=True))
        + f'<td title="{escape(r.ci_kind)}">[{pct(r.ci[0], signed=True)}, {pct(r.ci[1], signed=True)}]</td>'
        + f"<td>{escape(r.test)}</td>"
        + num_cell(r.p_adjusted, f"{r.p_adjusted:.3g}")
        + num_cell(r.mde)
        + f"<td>{'-' if r.lost is None else f'{r.lost} / {r.gained}'}</td><td>{escape(r.verdict)}</td></tr>"
        for r in c.rows
    )
    return (
        f'<table id="comparison" class="sortable"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
    )


def _text(value: str, cls: str = "said") -> str:
    return f'<div class="{cls}">{escape(value)}</div>' if value else ""


def _question(item: dict[str, Any]) -> str:
    """The last question, with the few-shot prefix before it folded."""
    prefix = item.get("prefix") or ""
    folded = (
        f'<details class="prefix"><summary>few-shot prefix ({len(prefix):,} characters)</summary>'
        f'<div class="said">{escape(prefix)}</div></details>'
        if prefix
        else ""
    )
    return folded + _text(item.get("prompt") or "")


def _response(item: dict[str, Any], side: str) -> str:
    """A model's response, under the judge's verdicts where the item was judged."""
    return _text(item.get(f"{side}_verdicts") or "", "verdicts") + _text(item.get(f"{side}_response") or "")


def _item_row(item: dict[str, Any]) -> str:
    bench = escape(item["benchmark"])
    return (
        f'<tr data-benchmark="{bench}"><td>{bench}</td><td>{escape(item["item"])}</td>'
        f'<td class="text question">{_question(item)}</td>'
        f'<td class="text">{_response(item, "base")}</td>'
        f'<td class="text">{_response(item, "candidate")}</td>'
        f'<td class="text">{_text(item.get("gold") or "")}</td>'
        f"<td>{item['base_score']:.2f}</td><td>{item['candidate_score']:.2f}</td></tr>"
    )


def item_view(c: Comparison) -> str:
    """The items scored differently: question, both responses, gold, both scores (``#items``)."""
    items = c.differing_items
    if not items:
        return "<p>No item is scored differently by the two runs.</p>"
    options = "".join(
        f'<option value="{escape(b)}">{escape(b)}</option>' for b in sorted({i["benchmark"] for i in items})
    )
    listed = f" (the first {len(items)} are listed)" if c.differing_total > len(items) else ""
    return (
        f"<p>{c.differing_total} items scored differently{listed}. "
        '<select id="item-benchmark"><option value="">all benchmarks</option>'
        f'{options}</select> <input id="item-search" type="search" placeholder="search questions, responses '
        'and golds"></p>'
        f'<p class="meta">{escape(HOW_TO_READ)}</p>'
        '<div class="scroll"><table id="items"><thead><tr><th>benchmark</th><th>item</th><th>question</th>'
        f"<th>{escape(c.base)}</th><th>{escape(c.candidate)}</th><th>gold</th><th>base score</th>"
        f"<th>candidate score</th></tr></thead><tbody>{''.join(_item_row(i) for i in items)}</tbody></table>"
        "</div>"
    )


def comparison_section(data: ReportData) -> str:
    """`sosbench compare` as a table, and the items where the two models differ."""
    c = data.comparison
    if c is None:
        return ""
    notes = "".join(f"<li>{escape(n)}</li>" for n in c.notes)
    kinds = " / ".join(sorted({r.ci_kind for r in c.rows}))
    return (
        f"<h2>Comparison: {escape(c.candidate)} versus {escape(c.base)}</h2>"
        f'<p class="summary"><strong>{escape(c.summary)}</strong></p>'
        f"<p>Candidate minus base, points. 95% CIs: {escape(kinds)} ({c.rounds} rounds, seed {c.seed}); "
        f"p-values adjusted ({escape(c.adjust)}) across the rows; alpha {c.alpha}; MDE = minimum detectable "
        "effect at 80% power"
        + ("" if c.normalize == "none" else f"; --normalize {escape(c.normalize)}")
        + "; n = items (the judge row: questions judged for both models); * = partial factor row "
        "(--allow-partial). See docs/compare.md.</p>"
        + _table(c)
        + (f'<ul class="notes">{notes}</ul>' if notes else "")
        + "<h3>Items where the two models differ</h3>"
        + item_view(c)
    )
