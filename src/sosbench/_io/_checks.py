"""What every reader and writer of the package shares: file modes, the kinds of file refused, and the
one-line errors of a failed read or write."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from sosbench.errors import SosbenchError


def _umask() -> int:
    """The process umask, read without changing it where Linux allows (``os.umask`` is racy in threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode a plain ``open(..., "w")`` would give a new file."""
    return 0o666 & ~_umask()


def _write_error(path: Path, exc: OSError, verb: str = "write") -> SosbenchError:
    if exc.errno == errno.ENAMETOOLONG:
        return SosbenchError(
            f"cannot {verb} {path}: the name is too long for the file system; use a shorter name"
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EISDIR):
        return SosbenchError(f"cannot {verb} {path}: {exc.strerror}; choose a writable folder")
    return SosbenchError(f"cannot {verb} {path}: {exc.strerror}; free space or choose another folder")


_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _size(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.1f} {unit}"
    return f"{n} bytes"


def _read_error(path: Path, exc: OSError, what: str) -> SosbenchError:
    """One line for a failed open/stat/read of an input file."""
    if exc.errno == errno.ENOENT:
        return SosbenchError(f"{path} does not exist: check the path")
    if exc.errno == errno.ENAMETOOLONG:
        return SosbenchError(f"{path}: the name is too long for the file system: check the path")
    if exc.errno == errno.ENOTDIR:
        return SosbenchError(f"{path}: a part of the path is a file, not a folder: check the path")
    return SosbenchError(f"cannot read {path}: {exc.strerror or exc}")


def _check_regular(path: Path, mode: int, what: str) -> None:
    if stat.S_ISDIR(mode):
        raise SosbenchError(f"{path} is a folder, not a {what}: pass the file inside it")
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
        raise SosbenchError(f"{path} is {kind}, not a {what}: pass a regular file")
