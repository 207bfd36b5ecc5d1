"""Bounded reads: regular files only, sizes checked before reading, JSONL streamed, nesting limited.

Every reader is bounded, whatever the file holds: only regular files are opened (a FIFO, /dev/zero or a
socket is refused from its ``stat``, so nothing blocks or streams forever); a whole-file read checks the
size before reading; a JSONL file is read line by line with a cap per line; JSON and YAML values may nest
only MAX_DEPTH deep, and YAML aliases may add at most MAX_YAML_ALIAS_NODES nodes (a 573-byte "billion
laughs" would otherwise expand to a billion). Each limit is far above what any file sosbench reads holds,
and a file over one is one error line naming the file and the limit.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from sosbench._io._checks import _check_regular, _read_error, _size
from sosbench.errors import SosbenchError

MAX_FILE_BYTES = 1 << 30
"""A file read whole (JSON documents, CSV, text): results, manifests and score files are megabytes."""
MAX_YAML_BYTES = 8 << 20
"""A YAML file (configs, templates, model lists): kilobytes in practice, and YAML parses slowly."""
MAX_LINE_BYTES = 256 << 20
"""One JSONL line (a samples-log row, a question with its private tests, an answer): at most megabytes."""
MAX_DEPTH = 100
"""How deep JSON or YAML values may nest: sosbench's files nest under 10 deep; the interpreter's recursion
limit (about 1000) must never be what stops a reader or a later step."""
MAX_YAML_ALIAS_NODES = 100_000
"""How many nodes YAML aliases may add when expanded (anchors are for reuse, not for multiplying)."""


def open_regular(path: Path, what: str = "file") -> BinaryIO:
    """``path`` opened for binary reading, refused with one line unless it is a regular file.

    The kind is checked with ``stat`` before opening, so a FIFO or a device is never opened (opening a FIFO
    blocks until a writer comes; reading /dev/zero never ends), and again with ``fstat`` on a non-blocking
    descriptor, so a file swapped for a FIFO in between cannot block either.
    """
    path = Path(path)
    try:
        _check_regular(path, path.stat().st_mode, what)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise _read_error(path, exc, what) from None
    try:
        _check_regular(path, os.fstat(fd).st_mode, what)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path: Path, what: str = "file", limit: int | None = None) -> bytes:
    """A regular file's bytes, refused before reading when it is larger than ``limit`` (default
    :data:`MAX_FILE_BYTES`)."""
    path = Path(path)
    limit = MAX_FILE_BYTES if limit is None else limit
    with open_regular(path, what) as handle:
        try:
            size = os.fstat(handle.fileno()).st_size
            if size > limit:
                raise SosbenchError(
                    f"{path} is {_size(size)}, more than the {_size(limit)} a {what} may be: "
                    "is it the right file?"
                )
            data = handle.read(limit + 1)
        except OSError as exc:
            raise _read_error(path, exc, what) from None
    if len(data) > limit:  # it grew while being read
        raise SosbenchError(f"{path} grew past {_size(limit)} while being read: pass a finished {what}")
    return data


def _decode(data: bytes, path: Path, what: str, line: int | None = None) -> str:
    """UTF-8 text with universal newlines (as ``open(..., "r")`` reads it)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        at = f" (line {line})" if line else ""
        raise SosbenchError(
            f"{path} is not UTF-8 text{at}: pass the {what} itself, not a binary file"
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def read_text(path: Path, what: str = "file", limit: int | None = None) -> str:
    """The file's text, or one line saying why it cannot be read (missing, a folder, a FIFO or device, too
    large, not UTF-8)."""
    return _decode(read_bytes(path, what, limit), Path(path), what)


def check_depth(value: Any, where: str, limit: int = MAX_DEPTH) -> None:
    """Refuse, with one line, lists and objects nested deeper than ``limit``.

    An explicit stack, not recursion: the check must not fail the way it guards against.
    """
    stack = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        item, depth = stack.pop()
        for child in item.values() if isinstance(item, dict) else item:
            if isinstance(child, (dict, list)):
                if depth >= limit:
                    raise SosbenchError(
                        f"{where}: nested deeper than {limit} levels: is this the right file?"
                    )
                stack.append((child, depth + 1))


def parse_json(
    text: str | bytes,
    where: str,
    fix: str = "restore the file or rerun what wrote it",
    line: int | None = None,
) -> Any:
    """``json.loads`` within :data:`MAX_DEPTH`; anything else is one line naming ``where`` (the file), the
    line (``line`` for a JSONL row, else the one the parser stopped at) and ``fix``."""
    at = f"{where}:{line}" if line else where
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SosbenchError(
            f"{at if line else f'{where}:{exc.lineno}'}: not valid JSON ({exc.msg}); {fix}"
        ) from None
    except RecursionError:
        raise SosbenchError(f"{at}: nested deeper than {MAX_DEPTH} levels: is this the right file?") from None
    except UnicodeDecodeError:
        raise SosbenchError(f"{at}: not UTF-8 text; {fix}") from None
    if _openings(text) > MAX_DEPTH:  # else it cannot nest that deep: most rows skip the walk
        check_depth(value, at)
    return value


def _openings(text: str | bytes) -> int:
    """How many ``[`` and ``{`` the text holds: an upper bound of its nesting, counted at C speed."""
    if isinstance(text, bytes):
        return text.count(b"[") + text.count(b"{")
    return text.count("[") + text.count("{")


def read_json(path: Path, what: str = "JSON file", limit: int | None = None) -> Any:
    return parse_json(read_text(path, what, limit), str(path))


def read_json_object(path: Path, what: str = "JSON file") -> dict[str, Any]:
    data = read_json(path, what)
    if not isinstance(data, dict):
        raise SosbenchError(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data


def _read_line(handle: BinaryIO, limit: int) -> bytes | None:
    """The next line (``b""`` at the end), or None past ``limit`` bytes without a newline; read a MiB at a
    time, so a line of zeros costs at most ``limit`` bytes, not the copies one ``readline(limit)`` makes."""
    parts: list[bytes] = []
    size = 0
    while True:
        part = handle.readline(min(1 << 20, limit + 1 - size))
        parts.append(part)
        size += len(part)
        if not part or part.endswith(b"\n"):
            return parts[0] if len(parts) == 1 else b"".join(parts)
        if size > limit:
            return None


def iter_lines(
    path: Path, what: str = "JSONL file", limit: int | None = None
) -> Iterator[tuple[int, str, bool]]:
    """``(line number, text, ends with a newline)`` of every line, read one at a time.

    Memory is bounded by the longest line, and a line longer than ``limit`` is one error: a file of zeros
    or a line that never ends stops there.
    """
    path = Path(path)
    limit = MAX_LINE_BYTES if limit is None else limit
    with open_regular(path, what) as handle:
        number = 0
        while True:
            try:
                raw = _read_line(handle, limit)
            except OSError as exc:
                raise _read_error(path, exc, what) from None
            number += 1
            if raw is None:
                raise SosbenchError(
                    f"{path}:{number}: a line longer than {_size(limit)}: is this the right {what}?"
                )
            if not raw:
                return
            yield number, _decode(raw, path, what, number), raw.endswith(b"\n")


def iter_jsonl(
    path: Path, what: str = "JSONL file", torn_tail_ok: bool = False
) -> Iterator[tuple[int, dict]]:
    """``(line number, object)`` for every non-blank line, read one line at a time (:func:`iter_lines`).

    ``torn_tail_ok`` skips an unparseable last line with no newline: the mark of a write a kill cut short,
    which journals tolerate. Any other bad line is one error naming it.
    """
    for number, line, ended in iter_lines(path, what):
        if not line.strip():
            continue
        try:
            row = parse_json(line, str(path), "fix or remove that line", number)
        except SosbenchError:
            if torn_tail_ok and not ended:
                return
            raise
        if not isinstance(row, dict):
            raise SosbenchError(
                f"{path}:{number}: expected a JSON object per line, found {type(row).__name__}"
            )
        yield number, row


def read_jsonl(path: Path, what: str = "JSONL file", torn_tail_ok: bool = False) -> list[dict]:
    return [row for _, row in iter_jsonl(path, what, torn_tail_ok)]
