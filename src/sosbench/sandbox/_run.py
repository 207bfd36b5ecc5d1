"""A bubblewrap sandbox for model-written code: nothing outside it can be read, written or reached, and one
budget of memory, processes and CPU bounds all it runs.

Why hand-written: LiveBench and LiveCodeBench run model code in a forked child of the scorer after
disabling a few ``os`` functions (their own docstring says it is not a sandbox), and no maintained
Python library isolates a process without a container runtime. bubblewrap (``bwrap``, the sandbox
Flatpak uses) does, unprivileged wherever user namespaces are enabled; this package only builds its
command line, gives it a cgroup, and talks to it over pipes.

Each sandbox gets (see docs/livebench.md, "The sandbox"):

* new user, PID, network, IPC, UTS and cgroup namespaces and a new session; it dies with its parent,
  and every process it started dies with it (the PID namespace ends when its first process does);
* a filesystem of read-only binds of only what the interpreter needs (the scorer's own interpreter,
  its standard library and site-packages, the system libraries), a fresh ``/proc`` of its own
  namespace, a minimal read-only ``/dev``, and one private writable tmpfs (``/tmp``, its working
  folder) with a total size cap; no host ``/tmp``, ``/dev/shm``, home, project, question or run file,
  and no host-only path even in its own ``/proc/1/cmdline``;
* an environment with only ``PATH``, ``HOME``, ``TMPDIR``, ``LANG`` and one-thread settings;
* one budget (``SandboxLimits``): a cgroup per sandbox where the host allows one (``Budget``), and hard
  rlimits on CPU time, address space, processes, file size and open files, set before the script runs;
* input through a pipe and results through a pipe that the scorer owns, every line bounded in bytes,
  time and nesting before it is parsed (``_channel``).

``SandboxMode.NONE`` runs the same script without bubblewrap (the budget and a new session only): an
explicit, unsafe opt-out that callers must flag in their outputs.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import Any

from sosbench.sandbox import _cgroup
from sosbench.sandbox._bwrap import ENABLE_USERNS, command, environment
from sosbench.sandbox._channel import STARTUP_FAILED, Frame, ResultLine, exchange
from sosbench.sandbox._limits import DEFAULT_LIMITS, Budget, SandboxLimits, SandboxMode, SandboxUnavailable

_PROBE = Path(__file__).with_name("_probe.py")


@functools.cache
def check_available(mode: SandboxMode = SandboxMode.BWRAP) -> Budget:
    """Fail at once, with what to do, where the sandbox cannot start here; else say which budget sandboxes
    get here (probed once per process, by starting one)."""
    if mode != SandboxMode.NONE and sys.platform != "linux":
        raise SandboxUnavailable(
            "the coding sandbox needs Linux (bubblewrap); use --sandbox none to run unsandboxed"
        )
    budget: Budget = "cgroup" if _cgroup.available() else "rlimit"
    problem = _probe(mode, budget)
    if problem and budget == "cgroup":  # made, but this user may not move a process into it
        _cgroup.disable()
        budget, problem = "rlimit", _probe(mode, "rlimit")
    if problem:
        raise SandboxUnavailable(f"bubblewrap could not start a sandbox ({problem}); {ENABLE_USERNS}")
    return budget


def _probe(mode: SandboxMode, budget: Budget) -> str:
    """ "" if a sandbox starts, else why not."""
    try:
        with contextlib.closing(_run(_PROBE, {}, 60.0, DEFAULT_LIMITS, mode, budget, ())) as frames:
            frame = next(frames)
    except OSError as error:
        return str(error)
    return "" if frame.problem == "ended" else frame.problem.removeprefix(STARTUP_FAILED + ": ")


def run_harness(
    script: Path,
    request: dict[str, Any],
    *,
    deadline_s: float,
    limits: SandboxLimits = DEFAULT_LIMITS,
    mode: SandboxMode = SandboxMode.BWRAP,
    lines: Sequence[ResultLine] = (),
) -> Generator[Frame, None, None]:
    """Start ``script`` in a sandbox, send ``request`` (JSON) on its stdin, and yield the JSON lines it
    writes to its stdout, until it ends, misbehaves or ``deadline_s`` (plus ``limits.startup_s``) passes:
    then one Frame with the problem. The script's first line must be ``{"ready": true}``, written once it
    has set itself up and before it runs anything untrusted; ``lines`` bounds each later line in turn.

    The caller may stop iterating at any time; the sandbox and everything in it is then killed.
    Raises ``SandboxUnavailable`` where no sandbox can start here (the host's fault, not the script's).
    """
    budget = check_available(mode)
    frames = _run(script, request, deadline_s, limits, mode, budget, lines)
    with contextlib.closing(frames):
        try:
            for frame in frames:
                if frame.problem.startswith(STARTUP_FAILED):
                    raise SandboxUnavailable(f"{frame.problem}: {_BROKEN}")
                yield frame
        except OSError as error:  # no cgroup, pipe or process for it: nothing the script did
            raise SandboxUnavailable(f"cannot run a sandbox ({error}): {_BROKEN}") from None


_BROKEN = (
    "the sandbox broke here, not the answer (where it ran out of memory, raise --sandbox-memory "
    "or lower --sandbox-processes)"
)


def _run(
    script: Path,
    request: dict[str, Any],
    deadline_s: float,
    limits: SandboxLimits,
    mode: SandboxMode,
    budget: Budget,
    lines: Sequence[ResultLine],
) -> Generator[Frame, None, None]:
    payload = json.dumps(request).encode()
    deadline = time.monotonic() + deadline_s + limits.startup_s
    with contextlib.ExitStack() as stack:
        cgroup = stack.enter_context(_cgroup.leaf(limits)) if budget == "cgroup" else None
        info_read, info_write = os.pipe()
        stack.callback(os.close, info_read)
        launch = command(
            script,
            limits,
            limits.process_limits(budget, deadline_s),
            mode,
            info_write if mode == SandboxMode.BWRAP else None,
            cgroup / "cgroup.procs" if cgroup else None,
        )
        try:
            process = subprocess.Popen(
                launch.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=environment(),
                cwd="/",
                start_new_session=True,
                pass_fds=(info_write, *launch.fds),
            )
        finally:
            os.close(info_write)
            launch.close()
        inner = None
        try:
            inner = _sandbox_pid(info_read, limits.startup_s) if mode == SandboxMode.BWRAP else None
            yield from exchange(process, payload, deadline, limits, lines)
        finally:
            _kill(process, inner)


def _sandbox_pid(info_fd: int, timeout_s: float) -> int | None:
    """The host pid of the sandbox's first process (PID 1 of its namespace), from bwrap's ``--info-fd``."""
    data, deadline = b"", time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([info_fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(info_fd, 4096)
        if not chunk:
            break
        data += chunk
        try:
            return int(json.loads(data)["child-pid"])
        except (ValueError, KeyError, TypeError):
            continue
    return None


def _kill(process: subprocess.Popen[bytes], inner: int | None) -> None:
    """Kill the sandbox and reap it. Killing PID 1 of its namespace first makes the kernel kill every
    process inside; bwrap exits only once that PID 1 is gone, so no process of the answer outlives this."""
    if inner is not None and process.poll() is None:
        try:
            os.kill(inner, signal.SIGKILL)
            process.wait(timeout=30)
        except (ProcessLookupError, PermissionError, subprocess.TimeoutExpired):
            pass
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    for pipe in (process.stdin, process.stdout, process.stderr):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()
    process.wait()
