"""A sandbox for model-written Python: one fresh process per test case.

Why hand-written: LiveBench/LiveCodeBench run model code in-process after disabling a few os
functions (not a sandbox, no memory limit) and no maintained library does process-level isolation
without a container runtime. Each run here gets:

* a fresh ``python -I`` process in a new session (process group), killed as a group;
* CPU-time, address-space, process-count and file-size limits (``resource.setrlimit``);
* a wall-clock timeout;
* a scrubbed environment (no secrets, one thread per numeric library);
* a temporary working directory, removed afterwards; stdin/stdout go through files in it, so an
  endless print cannot flood the parent (the file-size limit stops it);
* no network: when running as root with util-linux ``unshare``/``setpriv``, the child runs in
  empty network and PID namespaces (everything it started dies with it) as user ``nobody`` (so the
  process limit applies and it cannot write outside its folder or read root's files); where
  namespaces are not allowed, root still drops to ``nobody``; the socket functions are also disabled
  inside the child before the program runs (the only network barrier without namespaces; weaker,
  see docs/livebench.md).
"""

from __future__ import annotations

import functools
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

_HARNESS = Path(__file__).with_name("_sandbox_harness.py")
_NOBODY = 65534
RESULT_MARKER = "\x00sosbench-result\x00"
"""Marks the call result line; ``_sandbox_harness`` (which cannot import sosbench) repeats it."""


@dataclass(frozen=True)
class SandboxLimits:
    """Per-test-case limits (LiveBench allowed 6 s per test; 2 s more cover interpreter start-up)."""

    wall_s: float = 8.0
    cpu_s: int = 8
    memory_bytes: int = 4 * 1024**3
    processes: int = 64
    file_bytes: int = 32 * 1024**2


DEFAULT_LIMITS = SandboxLimits()


@dataclass(frozen=True)
class Execution:
    """What one sandboxed run produced."""

    status: Literal["ok", "error", "timeout"]
    stdout: str
    returncode: int | None


@dataclass(frozen=True)
class Isolation:
    """Which OS isolation the child gets on this machine."""

    namespaces: bool
    drop_to_nobody: bool

    def wrap(self, command: list[str]) -> list[str]:
        if self.drop_to_nobody:
            command = ["setpriv", f"--reuid={_NOBODY}", f"--regid={_NOBODY}", "--clear-groups", *command]
        if self.namespaces:
            command = ["unshare", "--net", "--pid", "--fork", "--kill-child", *command]
        return command


def _scrubbed_env(workdir: Path) -> dict[str, str]:
    one = "1"
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": str(workdir),
        "TMPDIR": str(workdir),
        "OMP_NUM_THREADS": one,
        "OPENBLAS_NUM_THREADS": one,
        "MKL_NUM_THREADS": one,
    }


def _limit(limits: SandboxLimits) -> None:
    """Runs in the child between fork and exec: only async-signal-safe-ish resource calls."""
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


@functools.cache
def isolation() -> Isolation:
    """The strongest isolation that works here, probed once per process."""
    if sys.platform != "linux" or not hasattr(os, "geteuid") or os.geteuid() != 0:
        return Isolation(namespaces=False, drop_to_nobody=False)
    for candidate in (Isolation(True, True), Isolation(True, False), Isolation(False, True)):
        needed = ["unshare"] + (["setpriv"] if candidate.drop_to_nobody else [])
        if not all(shutil.which(tool) for tool in needed):
            continue
        probe = candidate.wrap([sys.executable, "-I", "-c", "import json, runpy, socket"])
        try:
            done = subprocess.run(probe, cwd="/", capture_output=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0:
            return candidate
    return Isolation(namespaces=False, drop_to_nobody=False)


def run_python(
    program: str,
    *,
    stdin: str = "",
    call: tuple[str, str] | None = None,
    limits: SandboxLimits = DEFAULT_LIMITS,
) -> Execution:
    """Run ``program`` once in the sandbox: as a script reading ``stdin``, or (``call`` = (fn_name, args
    as JSON lines)) as a module whose function is called. Returns the captured stdout."""
    mode = isolation()
    workdir = Path(tempfile.mkdtemp(prefix="sosbench-sandbox-"))
    try:
        (workdir / "solution.py").write_text(program, encoding="utf-8")
        (workdir / "stdin.txt").write_text(stdin, encoding="utf-8")
        arguments = ["stdin"]
        if call is not None:
            (workdir / "args.txt").write_text(call[1], encoding="utf-8")
            arguments = ["call", call[0]]
        if mode.drop_to_nobody:
            for path in (workdir, *workdir.iterdir()):
                os.chown(path, _NOBODY, _NOBODY)
        command = mode.wrap([sys.executable, "-I", str(_HARNESS), *arguments])
        return _execute(command, workdir, limits)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _execute(command: list[str], workdir: Path, limits: SandboxLimits) -> Execution:
    with open(workdir / "stdin.txt", "rb") as stdin, open(workdir / "stdout.txt", "wb") as stdout:
        process = subprocess.Popen(
            command,
            stdin=stdin,
            stdout=stdout,
            stderr=subprocess.DEVNULL,
            cwd=workdir,
            env=_scrubbed_env(workdir),
            start_new_session=True,
            preexec_fn=functools.partial(_limit, limits),  # noqa: PLW1509 - only setrlimit calls
        )
        try:
            returncode: int | None = process.wait(timeout=limits.wall_s)
            status: Literal["ok", "error", "timeout"] = "ok" if returncode == 0 else "error"
        except subprocess.TimeoutExpired:
            returncode, status = None, "timeout"
        finally:
            _kill_group(process)
    output = (workdir / "stdout.txt").read_bytes()[: limits.file_bytes].decode("utf-8", errors="replace")
    return Execution(status, output, returncode)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kill the child's whole process group (background children included) and reap the child."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()
