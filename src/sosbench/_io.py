"""The one place that reads and writes sosbench's plain files.

Every layer imports from here (like ``errors``), so the guarantees hold everywhere at once:

- writes are atomic (temporary file, fsync, ``os.replace``): a kill leaves the old file or the new one;
- files get the mode the user's umask allows (``mkstemp`` alone makes 0600, which locks other users of a
  shared run folder or mirror out);
- reads fail with one ``SosbenchError`` line naming the file (and line) instead of a traceback, for
  missing, unreadable, non-UTF-8 or non-JSON input;
- a folder that one process writes is held with a lock file (``filelock``), so a second process on the same
  folder is refused with one line instead of corrupting it;
- names that come from users (model names, judge ids) map to file names that cannot escape their folder
  and cannot collide.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from sosbench.errors import SosbenchError

LOCK_FILE = ".sosbench.lock"


# ------------------------------------------------------------------------------------------ modes


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


# ----------------------------------------------------------------------------------------- writes


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` beside ``path``, fsync it, then rename it over ``path``."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise SosbenchError(f"cannot write {path}: {exc.strerror}; choose a writable folder") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise SosbenchError(
            f"cannot write {path}: {exc.strerror}; free space or choose another folder"
        ) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: Path, data: Any, default: Any = None) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False, default=default) + "\n")


def write_jsonl_atomic(path: Path, rows: Iterable[Mapping[str, Any]], default: Any = None) -> None:
    """Write every row as one JSON line, all or nothing (``default`` as in ``json.dumps``)."""
    write_text_atomic(
        path, "".join(json.dumps(dict(row), ensure_ascii=False, default=default) + "\n" for row in rows)
    )


def append_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    """Append whole lines and make them durable (flush + fsync) before returning: a journal's write."""
    data = "".join(json.dumps(dict(row), ensure_ascii=False) + "\n" for row in rows)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise SosbenchError(
            f"cannot append to {path}: {exc.strerror}; free space or choose another folder"
        ) from None


# ------------------------------------------------------------------------------------------ reads


def read_text(path: Path, what: str = "file") -> str:
    """The file's text, or one line saying why it cannot be read (missing, a folder, not UTF-8)."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SosbenchError(f"{path} does not exist: check the path") from None
    except IsADirectoryError:
        raise SosbenchError(f"{path} is a folder, not a {what}: pass the file inside it") from None
    except UnicodeDecodeError:
        raise SosbenchError(f"{path} is not UTF-8 text: pass the {what} itself, not a binary file") from None
    except OSError as exc:
        raise SosbenchError(f"cannot read {path}: {exc.strerror}") from None


def read_json(path: Path, what: str = "JSON file") -> Any:
    text = read_text(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SosbenchError(
            f"{path}:{exc.lineno}: not valid JSON ({exc.msg}); restore the file or rerun what wrote it"
        ) from None


def read_json_object(path: Path, what: str = "JSON file") -> dict[str, Any]:
    data = read_json(path, what)
    if not isinstance(data, dict):
        raise SosbenchError(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data


def iter_jsonl(
    path: Path, what: str = "JSONL file", torn_tail_ok: bool = False
) -> Iterator[tuple[int, dict]]:
    """``(line number, object)`` for every non-blank line.

    ``torn_tail_ok`` skips an unparseable last line with no newline: the mark of a write a kill cut short,
    which journals tolerate. Any other bad line is one error naming it.
    """
    lines = read_text(path, what).split("\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            if torn_tail_ok and number == len(lines):
                return
            raise SosbenchError(
                f"{path}:{number}: not valid JSON ({exc.msg}); fix or remove that line"
            ) from None
        if not isinstance(row, dict):
            raise SosbenchError(
                f"{path}:{number}: expected a JSON object per line, found {type(row).__name__}"
            )
        yield number, row


def read_jsonl(path: Path, what: str = "JSONL file", torn_tail_ok: bool = False) -> list[dict]:
    return [row for _, row in iter_jsonl(path, what, torn_tail_ok)]


# ------------------------------------------------------------------------------------------ names

_UNSAFE = re.compile(r"[^A-Za-z0-9._=+-]")


def safe_file_name(name: str) -> str:
    """A file name for a user-given name (``org/model``) that stays in its folder and never collides.

    Readable names pass unchanged; any other (a slash, a leading dot, ``..``) becomes its readable
    characters plus a short hash of the whole name, so ``org1/m`` and ``org2/m`` stay apart.
    """
    if not name:
        raise SosbenchError("an empty name cannot be a file name: give the model or judge a name")
    if not _UNSAFE.search(name) and not name.startswith(".") and len(name) <= 120:
        return name
    readable = _UNSAFE.sub("_", name).lstrip("._")[:80] or "name"
    return f"{readable}-{hashlib.sha256(name.encode()).hexdigest()[:10]}"


def inside(folder: Path, relative: str, what: str) -> Path:
    """``folder / relative``, refused when ``relative`` is absolute or climbs out of ``folder``."""
    candidate = Path(relative)
    if candidate.is_absolute() or ".." in candidate.parts:
        raise SosbenchError(f"{what} {relative!r} would write outside {folder}: use a plain relative name")
    return folder / candidate


# ------------------------------------------------------------------------------------------ locks


@contextlib.contextmanager
def folder_lock(folder: Path, what: str, wait_s: float = 0.0) -> Iterator[None]:
    """Hold ``folder``'s lock file while writing it; a second holder is refused with one line.

    The lock is an OS lock (``filelock``), so a killed holder releases it at once; the lock file itself
    stays, empty, and means nothing on its own.
    """
    from filelock import FileLock, Timeout

    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SosbenchError(f"cannot create {folder}: {exc.strerror}; choose a writable folder") from None
    if not folder.is_dir():
        raise SosbenchError(f"{folder} is not a folder: choose a folder path")
    lock = FileLock(str(folder / LOCK_FILE), timeout=wait_s, mode=file_mode())
    try:
        lock.acquire()
    except Timeout:
        raise SosbenchError(
            f"another sosbench process is writing {what} {folder}: "
            "wait for it to finish, or use another folder"
        ) from None
    except OSError as exc:
        raise SosbenchError(f"cannot lock {folder}: {exc.strerror}; choose a writable folder") from None
    try:
        yield
    finally:
        lock.release()
