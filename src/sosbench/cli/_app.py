"""The root `sosbench` app and the one place that turns every failure into one line.

Exit codes: 0 done; 1 bad input (one ``error: ...`` line saying what to do); 2 a usage error (one line
and the ``--help`` to read); 70 a bug in sosbench (the error line plus one saying how to see the
traceback); 130 interrupted. ``--debug`` (or ``SOSBENCH_DEBUG=1``) lets the traceback through instead.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

from sosbench import __version__
from sosbench.cli import (
    _compare,
    _data,
    _demo,
    _flags,
    _judge,
    _list,
    _livebench,
    _model,
    _paper,
    _report,
    _run,
    _score,
    _validate,
)
from sosbench.errors import input_problem

try:  # typer >= 0.20 ships its own copy of click
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover - older typer uses click itself
    from click.exceptions import ClickException  # type: ignore[no-redef, assignment, unused-ignore]

DEBUG_ENV = "SOSBENCH_DEBUG"
INTERRUPTED = "error: interrupted; finished work is kept: rerun the same command to resume"
EXIT_INPUT, EXIT_USAGE, EXIT_BUG, EXIT_INTERRUPTED = 1, 2, 70, 130


def _say(*lines: str) -> None:
    for line in lines:
        print(line, file=sys.stderr)


class SosbenchGroup(TyperGroup):
    """The root command: parses as typer does, then reports any failure in one line (see the module doc)."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        debug = "--debug" in argv or os.environ.get(DEBUG_ENV, "").strip().lower() in (
            "1",
            "true",
            "yes",
            "on",
        )
        try:
            _flags.prepare(self)
            _flags.refuse_flag_values(self, argv)
            code = super().main(argv, prog_name or "sosbench", complete_var, standalone_mode=False, **extra)
            code = code if isinstance(code, int) else 0
            if code == EXIT_INTERRUPTED:  # typer turns Ctrl-C inside a command into a silent exit 130
                _say(INTERRUPTED)
        except ClickException as exc:
            code = _usage_error(exc)
        except (KeyboardInterrupt, typer.Abort):
            _say(INTERRUPTED)
            code = EXIT_INTERRUPTED
        except Exception as exc:
            if debug:
                raise
            code = _report_failure(exc)
        if standalone_mode:
            sys.exit(code)
        return code


def _usage_error(exc: ClickException) -> int:
    """typer's usage box becomes one line naming the command's --help."""
    if type(exc).__name__ == "NoArgsIsHelpError":  # a bare group: its help is already printed
        return EXIT_USAGE
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path if ctx is not None else getattr(exc, "command_path", "sosbench")
    message = " ".join(exc.format_message().split())
    _say(f"error: {message} (see `{command} --help`)")
    return getattr(exc, "exit_code", EXIT_USAGE) or EXIT_USAGE


def _report_failure(exc: Exception) -> int:
    message = input_problem(exc)
    if message is not None:
        _say(f"error: {message}")
        return EXIT_INPUT
    detail = " ".join(str(exc).split()) or "(no message)"
    _say(
        f"error: {type(exc).__name__}: {detail}",
        f"this is a bug in sosbench {__version__}: rerun with --debug (or {DEBUG_ENV}=1) to see the "
        "traceback, "
        "and report it",
    )
    return EXIT_BUG


app = typer.Typer(
    name="sosbench",
    cls=SosbenchGroup,
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
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version.", metavar=""
    ),
    debug: bool = typer.Option(
        False,
        "--debug",
        help="Show the full traceback of a failure instead of one line (for bug reports).",
        envvar=DEBUG_ENV,
        metavar="",
    ),
) -> None:
    """SOS-Bench: ground-truth benchmarks and LLM judges, side by side."""


_demo.register(app)
_list.register(app)
_run.register(app)
_data.register(app)
_model.register(app)
_score.register(app)
_paper.register(app)
_compare.register(app)
_report.register(app)
_livebench.register(app)
_judge.register(app)
_validate.register(app)


def main() -> None:
    """Console-script entry point (``SosbenchGroup.main`` does the error handling)."""
    app()
