"""Running sosbench commands in a child process under a hard memory limit, timed, for hostile-input tests.

The child sets ``RLIMIT_AS`` before it imports anything, runs each command through typer's ``CliRunner``
(stderr captured per command) and appends one JSON line per command to a results file as it goes, so a
command that blocks is named even when the child is stopped. CPU seconds are what a command is held to:
they do not depend on how loaded the machine is. A wall-clock limit per command (``faulthandler`` ends
the child, with its stack on stderr) catches a command that blocks, however many commands one child
runs; the parent's own timeout is the backstop.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

MEMORY_LIMIT = 3 << 30  # the `prlimit --as` of issue 21
ALIAS_BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9 if prev else ['lol'] * 9)}]\n"
    for prev, name in zip(["", *"abcdefgh"], "abcdefghi", strict=True)
)
"""A YAML "billion laughs" of 342 bytes: nine levels of nine aliases, 9**9 strings once expanded."""
CHILD = r"""
import faulthandler, json, resource, sys, time
results, limit, commands = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
blocked_s = float(sys.argv[4])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from typer.testing import CliRunner
from sosbench.cli._app import app
with open(results, "a") as out:
    for args in commands:
        out.write(json.dumps({"started": args}) + "\n")
        out.flush()
        cpu, wall = time.process_time(), time.monotonic()
        faulthandler.dump_traceback_later(blocked_s, exit=True)
        result = CliRunner().invoke(app, args)
        faulthandler.cancel_dump_traceback_later()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        out.write(json.dumps({
            "args": args,
            "exit_code": result.exit_code,
            "stderr": result.stderr,
            "exception": None if result.exception in (None,) or isinstance(result.exception, SystemExit)
            else repr(result.exception),
            "cpu_s": time.process_time() - cpu,
            "wall_s": time.monotonic() - wall,
            "max_rss_mib": usage.ru_maxrss / 1024,
        }) + "\n")
        out.flush()
"""


@dataclass(frozen=True)
class Outcome:
    args: list[str]
    exit_code: int
    stderr: str
    exception: str | None
    cpu_s: float
    wall_s: float
    max_rss_mib: float  # of the child so far (its peak over this and the earlier commands)


def run_bounded(
    commands: list[list[str]],
    folder: Path,
    *,
    memory: int = MEMORY_LIMIT,
    timeout: float = 120.0,
    blocked_s: float = 60.0,
) -> list[Outcome]:
    """Run ``commands`` one after another in one child limited to ``memory`` bytes of address space; a
    command still running after ``blocked_s`` seconds, or the child after ``timeout``, fails the call."""
    results = folder / "bounded-results.jsonl"
    results.unlink(missing_ok=True)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    argv = [sys.executable, "-c", CHILD, str(results), str(memory), json.dumps(commands), str(blocked_s)]
    try:
        child = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, check=False)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"still running after {timeout:.0f} s, in: {_last_started(results)}") from None
    rows = [json.loads(line) for line in results.read_text().splitlines()] if results.exists() else []
    outcomes = [Outcome(**row) for row in rows if "args" in row]
    assert len(outcomes) == len(commands), (
        f"the child died ({child.returncode}) in: {_last_started(results)}: {child.stderr[-2000:]}"
    )
    return outcomes


def _last_started(results: Path) -> str:
    """The command the child started last (the one that blocked or killed it)."""
    rows = [json.loads(line) for line in results.read_text().splitlines()] if results.exists() else []
    last = next((row["started"] for row in reversed(rows) if "started" in row), None)
    return f"sosbench {' '.join(last or [])}"
