"""Flat views of a ScoreReport for tables and CSV (JSON is ``ScoreReport.to_json``)."""

from __future__ import annotations

import csv
import io

from sosbench.scoring._score import FACTOR_NAMES, FactorScore, ScoreReport
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
    """One row per model: factor score/CI/completeness, then every benchmark's score, stderr and n."""
    names = [b.name for b in benchmarks()]
    header = ["model"]
    for factor in FACTOR_NAMES:
        header += [factor, f"{factor}_ci_low", f"{factor}_ci_high", f"{factor}_complete"]
    for name in names:
        header += [name, f"{name}_stderr", f"{name}_n"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for note in report.notes:
        writer.writerow([f"# {note}"])
    writer.writerow(header)
    for model in report.models:
        row: list[object] = [model.model]
        for factor in FACTOR_NAMES:
            f = model.factors[factor]
            row += [_num(f.score), _num(f.ci_low), _num(f.ci_high), str(f.complete).lower()]
        for name in names:
            b = model.benchmarks.get(name)
            row += [_num(b.score), _num(b.stderr), "" if b.n is None else b.n] if b else ["", "", ""]
        writer.writerow(row)
    return buffer.getvalue()


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"
