"""Flat views of a ScoreReport for tables and CSV (JSON is ``ScoreReport.to_json``)."""

from __future__ import annotations

import csv
import io

from sosbench.scoring._formula import FACTOR_NAMES
from sosbench.scoring._score import FactorScore, ScoreReport
from sosbench.suite import benchmarks


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}"


def factor_cell(f: FactorScore) -> str:
    """'52.3 [50.1, 54.4]' on a 0-100 scale, '*' when incomplete, 'n/a' without a score."""
    if f.score is None:
        return f"n/a ({len(f.missing)} missing)" if f.missing else "n/a"
    ci = f" [{_pct(f.ci_low)}, {_pct(f.ci_high)}]" if f.ci_low is not None else ""
    return f"{_pct(f.score)}{ci}{'' if f.complete else ' *'}"


def to_csv(report: ScoreReport) -> str:
    """One row per model: its --limit, factor score/CI/CI kind/completeness, then every benchmark's score,
    stderr and n; the notes (partial rows, limit runs, the CIs' kinds) as ``# `` lines on top."""
    names = [b.name for b in benchmarks()]
    header = ["model", "items_per_task"]
    for factor in FACTOR_NAMES:
        header += [
            factor,
            f"{factor}_ci_low",
            f"{factor}_ci_high",
            f"{factor}_ci_kind",
            f"{factor}_complete",
            f"{factor}_partial",
        ]
    for name in names:
        header += [name, f"{name}_stderr", f"{name}_n"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for note in report.notes:
        buffer.write(f"# {note}\n")
    writer.writerow(header)
    for model in report.models:
        row: list[object] = [model.model, model.limited or "all"]
        for factor in FACTOR_NAMES:
            f = model.factors[factor]
            row += [
                _num(f.score),
                _num(f.ci_low),
                _num(f.ci_high),
                f.ci_method or "",
                str(f.complete).lower(),
                f.partial or "",
            ]
        for name in names:
            b = model.benchmarks.get(name)
            row += [_num(b.score), _num(b.stderr), "" if b.n is None else b.n] if b else ["", "", ""]
        writer.writerow(row)
    return buffer.getvalue()


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"
