"""Names users give (models, judges) as file names and paths that stay in their folder, and folder locks."""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from sosbench._io._checks import file_mode
from sosbench.errors import SosbenchError

LOCK_FILE = ".sosbench.lock"

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


MODEL_PATH_ARGS = ("pretrained", "model", "model_name", "path")
"""The model arguments that name the model, most specific first (lm-eval's hf, vllm, API backends)."""


def model_name_from_args(model_args: Mapping[str, Any] | str | None) -> str | None:
    """A readable model name from lm-eval model arguments: the last part of ``pretrained=`` (or
    ``model=``, ...), e.g. ``meta-llama/Meta-Llama-3-8B`` -> ``Meta-Llama-3-8B``; None when none is given.

    The one rule for `sosbench run`'s default ``--model-name`` and for results files that name no model.
    """
    if isinstance(model_args, str):
        pairs = (part.partition("=") for part in model_args.split(","))
        model_args = {key.strip(): value.strip() for key, sep, value in pairs if sep}
    for key in MODEL_PATH_ARGS:
        value = (model_args or {}).get(key)
        if value:
            return last_path_part(str(value))
    return None


def last_path_part(name: str) -> str:
    """``org/model/`` -> ``model``: the part of a hub id or path that names the model."""
    return name.rstrip("/").rsplit("/", 1)[-1]


def inside(folder: Path, relative: str, what: str) -> Path:
    """``folder / relative``, refused when ``relative`` is absolute or climbs out of ``folder``."""
    candidate = Path(relative)
    if candidate.is_absolute() or ".." in candidate.parts:
        raise SosbenchError(f"{what} {relative!r} would write outside {folder}: use a plain relative name")
    return folder / candidate


@contextlib.contextmanager
def folder_lock(folder: Path, what: str, wait_s: float = 0.0, file: str | None = None) -> Iterator[None]:
    """Hold ``folder``'s lock file while writing it; a second holder is refused with one line.

    With ``file``, only that file of the folder is held (its own lock file beside it), so writers of other
    files in the folder (other models' answers) go on. The lock is an OS lock (``filelock``), so a killed
    holder releases it at once; the lock file itself stays, empty, and means nothing on its own.
    """
    from filelock import FileLock, Timeout

    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SosbenchError(f"cannot create {folder}: {exc.strerror}; choose a writable folder") from None
    if not folder.is_dir():
        raise SosbenchError(f"{folder} is not a folder: choose a folder path")
    name = LOCK_FILE if file is None else f".{safe_file_name(file)}{LOCK_FILE}"
    lock = FileLock(str(folder / name), timeout=wait_s, mode=file_mode())
    try:
        lock.acquire()
    except Timeout:
        target = folder if file is None else folder / file
        raise SosbenchError(
            f"another sosbench process is writing {what} {target}: "
            "wait for it to finish, or use another folder"
        ) from None
    except OSError as exc:
        raise SosbenchError(f"cannot lock {folder}: {exc.strerror}; choose a writable folder") from None
    try:
        yield
    finally:
        lock.release()
