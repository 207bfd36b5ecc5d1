"""Table cells shared by the report's sections: points on the 0-100 scale, sortable numeric cells."""

from __future__ import annotations


def pct(value: float | None, signed: bool = False) -> str:
    """A 0-1 value as points (0-100), 'n/a' when missing."""
    if value is None:
        return "n/a"
    return f"{value * 100:+.1f}" if signed else f"{value * 100:.1f}"


def num_cell(value: float | None, text: str | None = None, extra: str = "") -> str:
    """A cell that sorts by its value (``data-value``) and shows ``text`` (points by default)."""
    data = "" if value is None else f"{value:.6g}"
    return f'<td data-value="{data}"{extra}>{text if text is not None else pct(value)}</td>'
