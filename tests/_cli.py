"""The `sosbench` command as a user runs it, in a child process or in this one, and the `sosbench run`
line the tests use.

``sosbench`` starts a child process: signals, locks held by another process, the umask and what a fresh
interpreter imports are only what a user meets in a process of their own. ``sosbench_in_process`` runs
the same ``app`` (its error handling included) through typer's CliRunner, for the many checks that read
an exit code and the lines a command printed: no interpreter start and no imports paid again per call.
Both return a ``CompletedProcess``, so a check reads the same whichever runs it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

LIMIT = 2  # items per task of `run_args` unless told


def sosbench_command(*args: str) -> list[str]:
    """The argv of `sosbench ARGS` in this interpreter (for Popen, when a test signals the process)."""
    return [sys.executable, "-m", "sosbench.cli", *args]


def sosbench(
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 600,
    umask: int | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `sosbench ARGS` to its end and capture its text output; a non-zero exit is the test's to judge."""
    return subprocess.run(
        sosbench_command(*args),
        capture_output=True,
        check=False,
        text=True,
        timeout=timeout,
        env=env or dict(os.environ),
        cwd=cwd,
        preexec_fn=None if umask is None else (lambda: os.umask(umask)),
    )


def sosbench_in_process(
    *args: str, env: Mapping[str, str | None] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `sosbench ARGS` in this process; ``env`` sets (or, with None, unsets) variables for the call.

    An exception that escaped the command's own error handling is raised here, not turned into an exit
    code, so no check can mistake a crash for the failure it expects.
    """
    from typer.testing import CliRunner

    from sosbench.cli import app

    result = CliRunner().invoke(app, list(args), env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(["sosbench", *args], result.exit_code, result.stdout, result.stderr)


def run_args(
    model: Path | str,
    mirror: Path,
    out: Path,
    benchmarks: Sequence[str],
    *extra: str,
    backend: str = "hf",
    limit: int = LIMIT,
    batch_size: str | None = "4",
    max_gen_toks: int | None = 8,
) -> list[str]:
    """`sosbench run` of ``model`` in float32 on the CPU, a few items from ``mirror``, into ``out``.

    ``batch_size=None`` leaves out --batch-size (the backend's default) and ``max_gen_toks=None`` leaves
    out --gen-kwargs (lm-eval's generation length); ``extra`` flags go last.
    """
    return [
        "run",
        "--model",
        backend,
        "--model-args",
        f"pretrained={model},dtype=float32",
        "--device",
        "cpu",
        *([] if batch_size is None else ["--batch-size", batch_size]),
        "--benchmarks",
        ",".join(benchmarks),
        "--limit",
        str(limit),
        *([] if max_gen_toks is None else ["--gen-kwargs", f"max_gen_toks={max_gen_toks}"]),
        "--data-dir",
        str(mirror),
        "--output",
        str(out),
        *extra,
    ]
