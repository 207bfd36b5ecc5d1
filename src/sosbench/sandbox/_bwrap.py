"""The command line that starts a script in a bubblewrap sandbox (or, with ``SandboxMode.NONE``, without one).

Nothing the sandbox can read names a host path that exists only outside it: bubblewrap reads its options
from a memory file (``--args``), so its PID 1's ``/proc/1/cmdline`` is ``bwrap --args N -- python ...``;
the scripts are copied in from memory files (``--ro-bind-data``), so no bind names their source; the
interpreter's folders are bound at their own paths (``sys.executable`` is the same inside and out).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import os
import shlex
import shutil
import site
import stat
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sosbench.sandbox._limits import SandboxLimits, SandboxMode, SandboxUnavailable
from sosbench.sandbox._owner import owner_tag, stale

SANDBOX_UID = 65534
ENTRY = Path(__file__).with_name("_entry.py")
"""Runs first in every sandbox: sets the hard limits, then runs the script."""
STAGE_PREFIX = "sosbench-sandbox-"
_STAGE_VAR = "SOSBENCH_SANDBOX_STAGE"

MISSING_BWRAP = (
    "the LiveBench coding tasks run model-written code in a bubblewrap sandbox, and `bwrap` is not "
    "installed: "
    "install it (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap), "
    "or pass --sandbox none to run that code unsandboxed (unsafe; every output is then flagged)"
)
ENABLE_USERNS = (
    "enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1 and "
    "user.max_user_namespaces > 0; on Ubuntu 24.04 also kernel.apparmor_restrict_unprivileged_userns=0), "
    "or pass --sandbox none to run model code unsandboxed (unsafe; every output is then flagged)"
)


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


def environment() -> dict[str, str]:
    """The sandbox's whole environment: a path, a home, a locale and one thread for BLAS/OpenMP."""
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


@dataclass
class Command:
    """A command line and the memory files it reads (passed to the child, closed here once it started)."""

    argv: list[str]
    fds: list[int] = field(default_factory=list)

    def memory_file(self, name: str, data: bytes) -> int:
        fd = os.memfd_create(f"sosbench-{name.strip('/')}")
        self.fds.append(fd)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.lseek(fd, 0, os.SEEK_SET)
        return fd

    def close(self) -> None:
        for fd in self.fds:
            with contextlib.suppress(OSError):
                os.close(fd)


def command(
    script: Path,
    limits: SandboxLimits,
    process_limits: dict[str, int],
    mode: SandboxMode,
    info_fd: int | None,
    cgroup_procs: Path | None,
) -> Command:
    """How to start ``script`` (through ``_entry.py``, which applies ``process_limits`` first): in a
    sandbox, or bare with ``SandboxMode.NONE``; first moved into a cgroup where ``cgroup_procs`` is given."""
    rlimits = json.dumps(process_limits)
    if mode == SandboxMode.NONE:
        result = Command([sys.executable, "-I", "-B", str(ENTRY), rlimits, str(script)])
    else:
        result = Command([])
        result.argv = _bwrap(result, script, limits, rlimits, info_fd)
    if cgroup_procs is not None:
        result.argv = ["sh", "-c", 'echo $$ > "$0" && exec "$@"', str(cgroup_procs), *result.argv]
    return result


def _bwrap(
    command: Command, script: Path, limits: SandboxLimits, rlimits: str, info_fd: int | None
) -> list[str]:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable(MISSING_BWRAP)
    roots = {str(root): str(root) for root in _python_roots()}
    as_root = os.geteuid() == 0
    staged = _staged(roots) if as_root else roots
    options = [
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        *("--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--hostname", "sandbox"),
    ]
    if info_fd is not None:
        options += ["--info-fd", str(info_fd)]
    for name, value in environment().items():
        options += ["--setenv", name, value]
    # The writable /tmp comes first, so that an interpreter installed under /tmp is bound on top of it.
    options += ["--size", str(limits.tmpfs_bytes), "--tmpfs", "/tmp", *_system_binds()]
    for destination, source in staged.items():
        options += ["--ro-bind", source, destination]
    for name, path in (("/entry.py", ENTRY), ("/script.py", script)):
        fd = command.memory_file(name, path.read_bytes())
        options += ["--ro-bind-data", str(fd), name]
    options += ["--proc", "/proc", "--dev", "/dev", "--remount-ro", "/dev", "--chdir", "/tmp"]
    options += ["--remount-ro", "/"]
    args_fd = command.memory_file("bwrap-args", b"".join(f"{o}\0".encode() for o in options))
    bwrap_argv = [bwrap, "--args", str(args_fd), "--"]
    bwrap_argv += [sys.executable, "-I", "-B", "/entry.py", rlimits, "/script.py"]
    return _as_unprivileged(roots, staged, bwrap_argv) if as_root else bwrap_argv


def _as_unprivileged(roots: dict[str, str], staged: dict[str, str], bwrap_argv: list[str]) -> list[str]:
    """Root: the kernel never applies RLIMIT_NPROC to uid 0 (not even inside a user namespace), so bwrap
    runs as uid 65534. The interpreter may sit under a folder that uid cannot enter (``/root`` is 0700),
    so each folder is first bound, in a private mount namespace of this one command, onto a folder of
    the staging folder; the host's mounts are untouched."""
    lines = [
        f"mount --bind {shlex.quote(source)} {shlex.quote(staged[destination])}"
        for destination, source in roots.items()
    ]
    lines.append(f'exec setpriv --reuid={SANDBOX_UID} --regid={SANDBOX_UID} --clear-groups "$@"')
    unshare = ["unshare", "--mount", "--propagation", "private", "--"]
    return [*unshare, "sh", "-ec", "\n".join(lines), "sh", *bwrap_argv]


def _staged(roots: dict[str, str]) -> dict[str, str]:
    stage = staging_dir()
    staged = {}
    for index, destination in enumerate(roots):
        target = stage / str(index)
        if not target.exists():
            target.mkdir(exist_ok=True) if Path(roots[destination]).is_dir() else target.touch(exist_ok=True)
        staged[destination] = str(target)
    return staged


@functools.cache
def staging_dir() -> Path:
    """An empty, world-traversable folder to mount sources onto, made once by the first scoring process
    and shared with its pool workers (through the environment they inherit); removed when it exits, and
    by the next scorer's first sandbox if it was killed before it could (``kill -9``)."""
    inherited = os.environ.get(_STAGE_VAR)
    if inherited and Path(inherited).is_dir():
        return Path(inherited)
    temporary = Path(tempfile.gettempdir())
    for folder in stale(temporary, STAGE_PREFIX):
        remove_stage(folder)
    folder = Path(tempfile.mkdtemp(prefix=f"{STAGE_PREFIX}{owner_tag()}-", dir=temporary))
    folder.chmod(0o755)
    os.environ[_STAGE_VAR] = str(folder)
    atexit.register(remove_stage, folder)
    return folder


def remove_stage(folder: Path) -> None:
    """Remove a staging folder: only its numbered, empty mount points, never through a link, and nothing if
    it holds anything else (then it is not one of ours to remove)."""
    try:
        handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return
    try:
        for name in os.listdir(handle):
            info = os.stat(name, dir_fd=handle, follow_symlinks=False)
            if not name.isdigit():
                return
            if stat.S_ISDIR(info.st_mode):
                os.rmdir(name, dir_fd=handle)
            elif stat.S_ISREG(info.st_mode) and info.st_size == 0:
                os.unlink(name, dir_fd=handle)
            else:
                return
        os.rmdir(folder)
    except OSError:
        return
    finally:
        os.close(handle)
