"""Atomic, durable writes (temporary file, fsync, rename) and journal appends that a kill cannot tear."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sosbench._io._checks import _check_regular, _write_error, file_mode


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` beside ``path``, fsync it, then rename it over ``path``."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # The temporary's name is cut so that a name near the file system's limit still fits beside it.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:120]}.", suffix=".tmp")
    except OSError as exc:
        raise _write_error(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise _write_error(path, exc) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


LONE_SURROGATE = re.compile("[\ud800-\udfff]")
"""A UTF-16 surrogate on its own in a Python string (a JSON ``\\ud800`` escape decodes to one)."""


def json_text(data: Any, indent: int | None = None, default: Any = None) -> str:
    """``data`` as JSON text that any file can hold, whatever strings it carries.

    Text stays readable (``ensure_ascii=False``), except lone UTF-16 surrogates: ``"\\ud800"`` is a valid
    JSON string (a judge may reply with one) but has no UTF-8 form, so each is written as its ``\\uXXXX``
    escape and reads back as the very same string.
    """
    text = json.dumps(data, indent=indent, ensure_ascii=False, default=default)
    if LONE_SURROGATE.search(text) is None:
        return text
    return LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: Path, data: Any, default: Any = None) -> None:
    write_text_atomic(path, json_text(data, indent=2, default=default) + "\n")


def write_jsonl_atomic(path: Path, rows: Iterable[Mapping[str, Any]], default: Any = None) -> None:
    """Write every row as one JSON line, all or nothing (``default`` as in ``json.dumps``)."""
    write_text_atomic(path, "".join(json_text(dict(row), default=default) + "\n" for row in rows))


def append_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    """Append whole lines and make them durable (flush + fsync) before returning: a journal's write.

    Only to a regular file (or a new one): a FIFO or a device in its place is refused, never opened.
    """
    path = Path(path)
    data = "".join(json_text(dict(row)) + "\n" for row in rows).encode("utf-8")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            _check_regular(path, path.stat().st_mode, "journal file")
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(path, flags, 0o666)
    except OSError as exc:
        raise _write_error(path, exc, "append to") from None
    try:
        _check_regular(path, os.fstat(fd).st_mode, "journal file")
        os.set_blocking(fd, True)
        handle = os.fdopen(fd, "ab")
    except BaseException:
        os.close(fd)
        raise
    try:
        with handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise _write_error(path, exc, "append to") from None


def cut_torn_tail(path: Path, what: str = "journal file") -> None:
    """Cut a torn last line (no trailing newline) off a journal, so that later appends start a fresh line.

    Only a regular file is touched; the last newline is searched from the end, a block at a time.
    """
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise _write_error(path, exc, "repair") from None
    _check_regular(path, info.st_mode, what)
    if info.st_size == 0:
        return
    try:
        fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise _write_error(path, exc, "repair the torn last line of") from None
    try:
        _check_regular(path, os.fstat(fd).st_mode, what)
        end = os.fstat(fd).st_size
        cut = end
        while cut > 0:
            start = max(0, cut - (1 << 16))
            block = os.pread(fd, cut - start, start)
            newline = block.rfind(b"\n")
            if newline >= 0:
                cut = start + newline + 1
                break
            cut = start
        if cut != end:
            os.ftruncate(fd, cut)
            os.fsync(fd)
    except OSError as exc:
        raise _write_error(path, exc, "repair the torn last line of") from None
    finally:
        os.close(fd)
