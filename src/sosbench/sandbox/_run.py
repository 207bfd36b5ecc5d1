"""A bubblewrap sandbox for model-written code: nothing outside it can be read, written or reached.

Why hand-written: LiveBench and LiveCodeBench run model code in a forked child of the scorer after
disabling a few ``os`` functions (their own docstring says it is not a sandbox), and no maintained
Python library isolates a process without a container runtime. bubblewrap (``bwrap``, the sandbox
Flatpak uses) does, unprivileged wherever user namespaces are enabled; this module only builds its
command line and talks to the child over pipes.

Each sandboxed process gets (see docs/livebench.md, "The sandbox"):

* new user, PID, network, IPC, UTS and cgroup namespaces and a new session; it dies with its parent,
  and every process it started dies with it (the PID namespace ends when its first process does);
* a filesystem of read-only binds of only what the interpreter needs (the scorer's own interpreter,
  its standard library and site-packages, the system libraries), a fresh ``/proc`` of its own
  namespace, a minimal read-only ``/dev``, and one private writable tmpfs (``/tmp``, its working
  folder) with a total size cap; no host ``/tmp``, ``/dev/shm``, home, project, question or run file;
* an environment with only ``PATH``, ``HOME``, ``TMPDIR``, ``LANG`` and one-thread settings;
* hard limits on CPU time, address space, processes, file size and open files, set by the harness
  inside the sandbox before the answer runs;
* input through a pipe and results through a pipe that the scorer owns: it reads at most
  ``max_output_bytes``, never opens a path the child could have replaced, and parses each result
  line only after checking its nesting depth.

``mode="none"`` runs the same harness without bubblewrap (rlimits and a new session only): an
explicit, unsafe opt-out that callers must flag in their outputs.
"""

from __future__ import annotations

import atexit
import contextlib
import enum
import functools
import json
import os
import re
import resource
import select
import selectors
import shlex
import shutil
import signal
import site
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sosbench.errors import SosbenchError


class SandboxMode(str, enum.Enum):
    """Where model-written code runs: the one list of modes."""

    BWRAP = "bwrap"
    """In a bubblewrap sandbox (the default)."""
    NONE = "none"
    """Unsandboxed, limits and a new session only: an explicit, unsafe opt-out that outputs must flag."""

    def __str__(self) -> str:
        return self.value

    @classmethod
    def of(cls, name: str) -> SandboxMode:
        """The mode called ``name`` (a ``--sandbox`` value), or one error line listing the modes."""
        try:
            return cls(name)
        except ValueError:
            choices = " or ".join(mode.value for mode in cls)
            raise SosbenchError(f"unknown --sandbox {name!r}: use {choices}") from None


_GIB = 1024**3
_SANDBOX_UID = 65534
_MAX_JSON_DEPTH = 400
"""Deeper result lines are refused before parsing: json.loads recurses once per level."""


def _default_memory_bytes() -> int:
    """2 GiB, or less where the scorer itself runs under a lower hard ``ulimit -v``."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    return 2 * _GIB if hard == resource.RLIM_INFINITY else min(2 * _GIB, int(hard * 0.9))


@dataclass(frozen=True)
class SandboxLimits:
    """Limits for one sandboxed answer (all its test cases run in one process, as in LiveBench)."""

    test_timeout_s: int = 6
    """LiveBench's per-test alarm."""
    cpu_s: int = 0
    """CPU seconds for the whole answer; 0 means its wall-clock budget (LiveBench limited only wall time)."""
    memory_bytes: int = 0
    """Address space; 0 means the default (2 GiB, below any lower hard limit of the scorer)."""
    processes: int = 64
    file_bytes: int = 16 * 1024**2
    open_files: int = 256
    tmpfs_bytes: int = 64 * 1024**2
    """Total size of the one writable folder."""
    max_output_bytes: int = 64 * 1024**2
    """The most the scorer reads from the result pipe; more scores 0."""
    startup_s: float = 20.0
    """Wall-clock allowance for starting the sandbox and interpreter, on top of the tests' own time."""

    def harness_limits(self, deadline_s: float) -> dict[str, int]:
        limits = asdict(self)
        limits["memory_bytes"] = self.memory_bytes or _default_memory_bytes()
        limits["cpu_s"] = self.cpu_s or int(deadline_s) + 1
        return {
            key: limits[key] for key in ("cpu_s", "memory_bytes", "processes", "file_bytes", "open_files")
        }


DEFAULT_LIMITS = SandboxLimits()


@dataclass(frozen=True)
class Frame:
    """One JSON line the harness wrote, or the reason there is none."""

    data: dict[str, Any] | None
    problem: str = ""


@functools.cache
def _python_roots() -> tuple[Path, ...]:
    """The folders the interpreter needs: its prefixes (standard library, venv) and site-packages."""
    roots = {Path(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
    roots.update(Path(p) for p in site.getsitepackages())
    user_site = site.getusersitepackages()
    if user_site in sys.path:
        roots.add(Path(user_site))
    roots.add(Path(os.path.realpath(sys.executable)).parent)
    kept = sorted({r.resolve() for r in roots if r.is_dir()}, key=lambda p: len(p.parts))
    return tuple(r for i, r in enumerate(kept) if not any(r.is_relative_to(k) for k in kept[:i]))


@functools.cache
def _system_binds() -> tuple[str, ...]:
    args: list[str] = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for name in (
        "/etc/ld.so.cache",
        "/etc/ld.so.conf",
        "/etc/ld.so.conf.d",
        "/etc/alternatives",
        "/etc/localtime",
    ):
        if os.path.exists(name):
            args += ["--ro-bind", name, name]
    return tuple(args)


def _environment() -> dict[str, str]:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # some CPUs need these for OpenBLAS to work at all
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def bwrap_command(
    binds: dict[str, str],
    limits: SandboxLimits,
    info_fd: int | None = None,
    tail: tuple[str, ...] = ("-I", "-B", "/harness.py"),
) -> list[str]:
    """The ``bwrap ... python`` command line; ``binds`` maps each destination (the interpreter's folders,
    ``/harness.py``) to the path it is bound from."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SosbenchError(_MISSING_BWRAP)
    args = [
        bwrap,
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        "--uid",
        str(_SANDBOX_UID),
        "--gid",
        str(_SANDBOX_UID),
        "--hostname",
        "sandbox",
    ]
    if info_fd is not None:
        args += ["--info-fd", str(info_fd)]
    for name, value in _environment().items():
        args += ["--setenv", name, value]
    # The writable /tmp comes first, so that an interpreter installed under /tmp is bound on top of it.
    args += ["--size", str(limits.tmpfs_bytes), "--tmpfs", "/tmp", *_system_binds()]
    for destination, source in binds.items():
        args += ["--ro-bind", source, destination]
    args += [
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--remount-ro",
        "/dev",
        "--chdir",
        "/tmp",
        "--remount-ro",
        "/",
    ]
    return [*args, "--", sys.executable, *tail]


_STAGE_VAR = "SOSBENCH_SANDBOX_STAGE"


@functools.cache
def _staging_dir() -> Path:
    """An empty, world-traversable folder to mount sources onto, made once by the first scoring process
    and shared with its pool workers (through the environment they inherit); removed when it exits."""
    inherited = os.environ.get(_STAGE_VAR)
    if inherited and Path(inherited).is_dir():
        return Path(inherited)
    folder = Path(tempfile.mkdtemp(prefix="sosbench-sandbox-"))
    folder.chmod(0o755)
    os.environ[_STAGE_VAR] = str(folder)
    atexit.register(shutil.rmtree, folder, True)
    return folder


def _as_unprivileged(binds: dict[str, str], command_for: Callable[[dict[str, str]], list[str]]) -> list[str]:
    """Root: the kernel never applies RLIMIT_NPROC to uid 0 (not even inside a user namespace), so bwrap
    runs as uid 65534. The interpreter may sit under a folder that uid cannot enter (``/root`` is 0700),
    so each source is first bound, in a private mount namespace of this one command, onto a folder of
    ``_staging_dir``; the host's mounts are untouched."""
    stage = _staging_dir()
    staged, lines = {}, []
    for index, (destination, source) in enumerate(binds.items()):
        target = stage / str(index)
        if not target.exists():
            target.mkdir(exist_ok=True) if Path(source).is_dir() else target.touch(exist_ok=True)
        staged[destination] = str(target)
        lines.append(f"mount --bind {shlex.quote(source)} {shlex.quote(str(target))}")
    lines.append(f'exec setpriv --reuid={_SANDBOX_UID} --regid={_SANDBOX_UID} --clear-groups "$@"')
    return [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "--",
        "sh",
        "-ec",
        "\n".join(lines),
        "sh",
        *command_for(staged),
    ]


def _spawn(
    script: Path,
    limits: SandboxLimits,
    mode: SandboxMode,
    info_fd: int,
    tail: tuple[str, ...] = ("-I", "-B", "/harness.py"),
) -> subprocess.Popen[bytes]:
    """Start the sandbox (or, with ``mode="none"``, the bare harness) with pipes for stdin/stdout/stderr."""
    if mode == SandboxMode.NONE:
        command = [sys.executable, "-I", "-B", str(script)]
    else:
        binds = {str(root): str(root) for root in _python_roots()} | {"/harness.py": str(script)}
        command_for = functools.partial(bwrap_command, limits=limits, info_fd=info_fd, tail=tail)
        command = _as_unprivileged(binds, command_for) if os.geteuid() == 0 else command_for(binds)
    return subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_environment(),
        cwd="/",
        start_new_session=True,
        pass_fds=(info_fd,),
    )


_MISSING_BWRAP = (
    "the LiveBench coding tasks run model-written code in a bubblewrap sandbox, and `bwrap` is not "
    "installed: "
    "install it (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap), "
    "or pass --sandbox none to run that code unsandboxed (unsafe; every output is then flagged)"
)


@functools.cache
def check_available(mode: SandboxMode = SandboxMode.BWRAP) -> None:
    """Fail at once, with what to do, where the sandbox cannot start here (probed once per process)."""
    if mode == SandboxMode.NONE:
        return
    if sys.platform != "linux":
        raise SosbenchError(
            "the coding sandbox needs Linux (bubblewrap); use --sandbox none to run unsandboxed"
        )
    if os.geteuid() == 0:
        _staging_dir()  # before any pool worker starts, so that they share it
    info_read, info_write = os.pipe()
    try:
        process = _spawn(
            Path(__file__),
            DEFAULT_LIMITS,
            mode,
            info_write,
            tail=("-I", "-c", "import json, numbers"),
        )
    except OSError as error:
        raise SosbenchError(f"bubblewrap could not start a sandbox ({error}); {_ENABLE_USERNS}") from None
    finally:
        os.close(info_write)
    try:
        _out, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise SosbenchError(f"bubblewrap did not start a sandbox within 60 s; {_ENABLE_USERNS}") from None
    finally:
        os.close(info_read)
    if process.returncode != 0:
        reason = err.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
        raise SosbenchError(f"bubblewrap could not start a sandbox ({reason[0]}); {_ENABLE_USERNS}")


_ENABLE_USERNS = (
    "enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1 and "
    "user.max_user_namespaces > 0; on Ubuntu 24.04 also kernel.apparmor_restrict_unprivileged_userns=0), "
    "or pass --sandbox none to run model code unsandboxed (unsafe; every output is then flagged)"
)


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")


def _json_depth_ok(line: bytes) -> bool:
    """True when the line's bracket nesting (outside strings) stays within ``_MAX_JSON_DEPTH``."""
    brackets = _JSON_STRING.sub(b"", line).translate(None, _NOT_BRACKETS)
    if len(brackets) <= _MAX_JSON_DEPTH:
        return True
    depth = 0
    for byte in brackets:
        depth += 1 if byte in b"[{" else -1
        if depth > _MAX_JSON_DEPTH:
            return False
    return True


def run_harness(
    script: Path,
    request: dict[str, Any],
    *,
    deadline_s: float,
    limits: SandboxLimits = DEFAULT_LIMITS,
    mode: SandboxMode = SandboxMode.BWRAP,
) -> Generator[Frame, None, None]:
    """Start ``script`` in the sandbox, send ``request`` (JSON) on its stdin, and yield the JSON lines it
    writes, until it ends, misbehaves or ``deadline_s`` passes (then one Frame with a problem).

    The caller may stop iterating at any time; the sandbox and everything in it is then killed.
    """
    request = {**request, "limits": limits.harness_limits(deadline_s)}
    payload = json.dumps(request).encode()
    info_read, info_write = os.pipe()
    try:
        process = _spawn(script, limits, mode, info_write)
    finally:
        os.close(info_write)
    inner = None
    try:
        inner = _sandbox_pid(info_read, limits.startup_s) if mode == SandboxMode.BWRAP else None
        yield from _exchange(process, payload, time.monotonic() + deadline_s + limits.startup_s, limits)
    finally:
        os.close(info_read)
        _kill(process, inner)


def _exchange(
    process: subprocess.Popen[bytes], payload: bytes, deadline: float, limits: SandboxLimits
) -> Iterator[Frame]:
    assert process.stdin and process.stdout and process.stderr
    for pipe in (process.stdin, process.stdout, process.stderr):
        os.set_blocking(pipe.fileno(), False)
    selector = selectors.DefaultSelector()
    selector.register(process.stdin, selectors.EVENT_WRITE)
    selector.register(process.stdout, selectors.EVENT_READ)
    selector.register(process.stderr, selectors.EVENT_READ)
    pending, buffer, errors, received = memoryview(payload), bytearray(), b"", 0
    ready = False
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            yield Frame(None, "timeout")
            return
        if not selector.get_map():
            yield Frame(None, "ended" if ready else _startup_failure(errors))
            return
        for key, _events in selector.select(min(remaining, 1.0)):
            if key.fileobj is process.stdin:
                try:
                    pending = pending[os.write(process.stdin.fileno(), pending[: 1 << 16]) :]
                except (BrokenPipeError, BlockingIOError):
                    pending = pending[:0]
                if not pending:
                    selector.unregister(process.stdin)
                    process.stdin.close()
                continue
            try:
                chunk = os.read(key.fileobj.fileno(), 1 << 16)  # type: ignore[union-attr]
            except BlockingIOError:
                continue
            if not chunk:
                selector.unregister(key.fileobj)
                continue
            if key.fileobj is process.stderr:
                errors = (errors + chunk)[-4096:]
                continue
            received += len(chunk)
            if received > limits.max_output_bytes:
                yield Frame(None, f"output over {limits.max_output_bytes} bytes")
                return
            start = len(buffer)
            buffer += chunk
            while (end := buffer.find(b"\n", start)) >= 0:
                frame = _parse(bytes(buffer[:end]))
                del buffer[: end + 1]
                start = 0
                if frame.data is not None and frame.data.get("ready") is True and not ready:
                    ready = True
                    continue
                yield frame
                if frame.data is None:
                    return


def _parse(line: bytes) -> Frame:
    if not _json_depth_ok(line):
        return Frame(None, "result nested too deeply")
    try:
        data = json.loads(line)
    except (ValueError, RecursionError):
        return Frame(None, "unreadable result line")
    return Frame(data) if isinstance(data, dict) else Frame(None, "result is not an object")


def _startup_failure(errors: bytes) -> str:
    message = errors.decode(errors="replace").strip().splitlines()
    return "sandbox did not start" + (f": {message[-1]}" if message else "")


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
