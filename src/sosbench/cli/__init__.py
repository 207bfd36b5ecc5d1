"""The `sosbench` command line: one typer app, one module per command group."""

from sosbench.cli._app import app, main

__all__ = ["app", "main"]
