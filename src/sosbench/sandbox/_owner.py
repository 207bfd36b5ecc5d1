"""Folders named after the process that made them, so that a later scorer can remove the ones whose maker
died (``kill -9`` skips every cleanup) and never touches a live scorer's.

A tag is ``<pid namespace>-<pid>-<start time>``: a pid alone can be reused by an unrelated process, and a
pid from another pid namespace (a container sharing ``/tmp``) means nothing here, so such folders are left
alone.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

_TAG = re.compile(r"(?P<namespace>\d+)-(?P<pid>\d+)-(?P<start>\d+)")


def _start_time(pid: int | str) -> str | None:
    """The process's start time (clock ticks after boot, field 22 of /proc/PID/stat); None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[19]  # fields after the command name, which may hold spaces


def _pid_namespace() -> str:
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return "0"


def owner_tag() -> str:
    """This process's tag (computed each time: a forked worker is another owner)."""
    return f"{_pid_namespace()}-{os.getpid()}-{_start_time('self') or 0}"


def owner_dead(tag: str) -> bool:
    """True only when the process that made ``tag`` is known to be gone."""
    match = _TAG.match(tag)
    if match is None or match["namespace"] != _pid_namespace():
        return False
    return _start_time(match["pid"]) != match["start"]


def stale(folder: Path, prefix: str) -> Iterator[Path]:
    """Real folders (no symbolic links) in ``folder`` named ``prefix + tag...``, owned by this user, whose
    owner is dead."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        owned = entry.is_dir(follow_symlinks=False) and info.st_uid == os.geteuid()
        if owned and owner_dead(entry.name[len(prefix) :]):
            yield Path(entry.path)
