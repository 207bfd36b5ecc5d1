"""One cgroup (v2) per sandbox, where the host allows one: ``memory.max``, ``pids.max`` and ``cpu.max`` then
bound all of a sandbox's processes together, which per-process rlimits cannot.

Where: beside the scorer's own cgroup (a cgroup that holds processes cannot also hold child cgroups with
controllers), in one folder per scorer, ``sosbench-sandbox-<owner tag>``, made once and shared with its
pool workers through the environment. That needs write access to the parent of the scorer's cgroup:
root has it, and so has a user inside a delegated subtree (``systemd-run --user -p Delegate=yes``, a
Slurm or Kubernetes job with delegation). Anywhere else (cgroup v1 hosts, containers without a writable
cgroup tree) ``base()`` is None and the sandbox falls back to rlimits (``Budget``).

Why hand-written: the kernel interface is a handful of files; no maintained library wraps cgroup v2
without a systemd or container runtime dependency.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import functools
import itertools
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

from sosbench.sandbox._limits import SandboxLimits
from sosbench.sandbox._owner import owner_tag, stale

CONTROLLERS = ("memory", "pids", "cpu")
PREFIX = "sosbench-sandbox-"
_BASE_VAR = "SOSBENCH_SANDBOX_CGROUP"
_OFF = "off"
_CPU_PERIOD_US = 100_000
_TASKS_OUTSIDE = 2
"""Tasks of a sandbox that are not the answer's: bubblewrap's monitor and its PID 1 (init)."""
_leaves = itertools.count()


def _mount_point() -> Path | None:
    """Where the cgroup v2 hierarchy is mounted (``/sys/fs/cgroup`` on most hosts), from mountinfo."""
    try:
        lines = Path("/proc/self/mountinfo").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        before, _, after = line.partition(" - ")
        if after.split(" ", 1)[0] == "cgroup2":
            return Path(before.split()[4].replace("\\040", " "))
    return None


def _own_cgroup(mount: Path) -> Path | None:
    """This process's cgroup folder, from the ``0::/path`` line of /proc/self/cgroup."""
    try:
        lines = Path("/proc/self/cgroup").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("0::"):
            return mount / line[3:].strip().lstrip("/")
    return None


def _enabled(folder: Path) -> set[str]:
    return set((folder / "cgroup.subtree_control").read_text(encoding="ascii").split())


def _enable(folder: Path) -> None:
    """Hand the controllers on to ``folder``'s children (those it already hands on are kept)."""
    missing = [name for name in CONTROLLERS if name not in _enabled(folder)]
    if missing:
        (folder / "cgroup.subtree_control").write_text(" ".join(f"+{name}" for name in missing))


def _create() -> Path | None:
    mount = _mount_point()
    own = _own_cgroup(mount) if mount else None
    if mount is None or own is None or not own.is_dir():
        return None
    parent = own if own == mount else own.parent
    for folder in stale(parent, PREFIX):
        remove(folder)
    base = parent / f"{PREFIX}{owner_tag()}"
    try:
        _enable(parent)
        base.mkdir()
    except OSError:
        return None
    try:
        _enable(base)
    except OSError:
        remove(base)
        return None
    atexit.register(remove, base)
    return base


@functools.cache
def base() -> Path | None:
    """This scorer's folder for sandbox cgroups (made by the first scoring process, inherited by its
    workers), or None where the host gives no writable cgroup v2 tree with the three controllers."""
    inherited = os.environ.get(_BASE_VAR)
    if inherited == _OFF:
        return None
    if inherited and Path(inherited).is_dir():
        return Path(inherited)
    folder = _create()
    os.environ[_BASE_VAR] = _OFF if folder is None else str(folder)
    return folder


def disable() -> None:
    """Use rlimits from now on, here and in the workers this process starts: a cgroup was made, but a
    sandbox could not be moved into it (no write access to the common parent)."""
    folder = base()
    base.cache_clear()
    os.environ[_BASE_VAR] = _OFF
    if folder is not None:
        remove(folder)


def available() -> bool:
    """Whether sandboxes here can get a cgroup each."""
    return base() is not None


@contextlib.contextmanager
def leaf(limits: SandboxLimits) -> Iterator[Path]:
    """A fresh cgroup for one sandbox with its limits set; everything in it is killed and the cgroup removed
    on exit. Its ``cgroup.procs`` is where the sandbox's first process writes its own pid."""
    parent = base()
    if parent is None:
        raise OSError("no cgroup for sandboxes here")
    folder = parent / f"{owner_tag()}-{next(_leaves)}"
    folder.mkdir()
    try:
        _limit(folder, limits)
        yield folder
    finally:
        remove(folder)


def _limit(folder: Path, limits: SandboxLimits) -> None:
    settings = {
        "memory.max": str(limits.memory()),
        "memory.swap.max": "0",  # swap would let the budget spill onto the disk
        "memory.oom.group": "1",  # out of memory: the whole sandbox goes, not one process of it
        "pids.max": str(limits.process_count("cgroup") + _TASKS_OUTSIDE),
        "cpu.max": f"{max(1000, int(limits.cpus * _CPU_PERIOD_US))} {_CPU_PERIOD_US}",
    }
    for name, value in settings.items():
        path = folder / name
        if path.exists() or name in ("memory.max", "pids.max", "cpu.max"):
            path.write_text(value)


def remove(folder: Path) -> None:
    """Kill every process in ``folder`` and its children, then remove them (deepest first)."""
    if not folder.is_dir():
        return
    for child in sorted((p for p in folder.iterdir() if p.is_dir()), reverse=True):
        remove(child)
    _kill_all(folder)
    deadline = time.monotonic() + 10.0
    while True:
        try:
            folder.rmdir()
            return
        except OSError as error:  # EBUSY: killed processes not yet gone; anything else: not ours to force
            if error.errno != errno.EBUSY or time.monotonic() > deadline:
                return  # left for the next start's cleanup of stale folders
            time.sleep(0.02)


def _kill_all(folder: Path) -> None:
    kill, freeze = folder / "cgroup.kill", folder / "cgroup.freeze"
    with contextlib.suppress(OSError):
        if kill.exists():  # Linux 5.14+: the kernel kills everything at once, forks included
            kill.write_text("1")
            return
        if freeze.exists():  # older kernels: freeze first, so that nothing forks meanwhile
            freeze.write_text("1")
        for pid in (folder / "cgroup.procs").read_text(encoding="ascii").split():
            with contextlib.suppress(OSError):
                os.kill(int(pid), signal.SIGKILL)
        if freeze.exists():
            freeze.write_text("0")
