"""A command's table as a user reads it at 80 columns (a pipe's width), and the check that no cell is cut."""

from __future__ import annotations

from collections.abc import Iterable

from typer.testing import CliRunner

from sosbench.cli import app

WIDTH = 80


def render(*args: str, width: int = WIDTH) -> str:
    """`sosbench ARGS` run in process with a ``width``-column console; its stdout."""
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": str(width)}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def assert_not_cut(text: str, cells: Iterable[str], width: int = WIDTH) -> None:
    """No line wider than ``width``, no ellipsis (rich's mark of a cut cell), and every expected cell
    text whole on one line (a cell folded over two lines reads as two cells)."""
    lines = text.splitlines()
    assert all(len(line) <= width for line in lines), max(lines, key=len)
    assert "…" not in text, text
    missing = [cell for cell in cells if not any(cell in line for line in lines)]
    assert not missing, f"cut or missing cells {missing} in:\n{text}"
