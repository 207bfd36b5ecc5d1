"""The `sosbench` command as a user runs it: a child process, and the `sosbench run` line the tests use.

A subprocess rather than typer's CliRunner: the exit code, the one-line `error:` on stderr (no
traceback), signals, locks and the umask are only what a user meets in a process of their own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
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
