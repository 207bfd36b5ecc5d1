"""The root `sosbench` app and the entry point that turns errors into one line."""

from __future__ import annotations

import sys

import typer

from sosbench import __version__
from sosbench.cli import _compare, _data, _judge, _list, _livebench, _paper, _report, _run, _score
from sosbench.errors import SosbenchError

app = typer.Typer(
    name="sosbench",
    help="SOS-Bench: does your post-trained LLM really get better? Run, score, judge and compare.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"sosbench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """SOS-Bench: ground-truth benchmarks and LLM judges, side by side."""


_list.register(app)
_run.register(app)
_data.register(app)
_score.register(app)
_paper.register(app)
_compare.register(app)
_report.register(app)
_livebench.register(app)
_judge.register(app)


def main() -> None:
    """Console-script entry point: a ``SosbenchError`` becomes one line on stderr and exit 1."""
    try:
        app()
    except SosbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
