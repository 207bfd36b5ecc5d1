"""The one place that reads and writes sosbench's plain files.

Every layer imports from here (like ``errors``), so the guarantees hold everywhere at once:

- writes are atomic (temporary file, fsync, ``os.replace``): a kill leaves the old file or the new one;
- files get the mode the user's umask allows (``mkstemp`` alone makes 0600, which locks other users of a
  shared run folder or mirror out);
- reads fail with one ``SosbenchError`` line naming the file (and line) instead of a traceback, for
  missing, unreadable, non-UTF-8 or non-JSON input;
- reads are bounded whatever the file holds (see "reads" below): regular files only, sizes checked
  before reading, JSONL streamed, JSON and YAML nesting and YAML aliases limited;
- any valid JSON string round-trips through the JSON writers (lone surrogates are escaped);
- a folder that one process writes is held with a lock file (``filelock``), so a second process on the same
  folder is refused with one line instead of corrupting it;
- names that come from users (model names, judge ids) map to file names that cannot escape their folder
  and cannot collide.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import json
import os
import re
import stat
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

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


def _write_error(path: Path, exc: OSError, verb: str = "write") -> SosbenchError:
    if exc.errno == errno.ENAMETOOLONG:
        return SosbenchError(
            f"cannot {verb} {path}: the name is too long for the file system; use a shorter name"
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EISDIR):
        return SosbenchError(f"cannot {verb} {path}: {exc.strerror}; choose a writable folder")
    return SosbenchError(f"cannot {verb} {path}: {exc.strerror}; free space or choose another folder")


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


# ------------------------------------------------------------------------------------------ reads
#
# Every reader is bounded, whatever the file holds: only regular files are opened (a FIFO, /dev/zero or a
# socket is refused from its ``stat``, so nothing blocks or streams forever); a whole-file read checks the
# size before reading; a JSONL file is read line by line with a cap per line; JSON and YAML values may nest
# only MAX_DEPTH deep, and YAML aliases may add at most MAX_YAML_ALIAS_NODES nodes (a 573-byte "billion
# laughs" would otherwise expand to a billion). Each limit is far above what any file sosbench reads holds,
# and a file over one is one error line naming the file and the limit.

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


def load_yaml(text: str, where: str) -> Any:
    """``yaml.safe_load`` within :data:`MAX_DEPTH` and :data:`MAX_YAML_ALIAS_NODES`.

    Bad YAML raises ``yaml.YAMLError`` as ``safe_load`` does (for callers with their own message); a
    document over a limit is one ``SosbenchError`` line naming ``where``.
    """
    loader = _bounded_loader()(text)
    try:
        return loader.get_single_data()
    except _YamlRefused as exc:
        raise SosbenchError(f"{where}: {exc}") from None
    except RecursionError:
        raise SosbenchError(
            f"{where}: nested deeper than {MAX_DEPTH} levels: is this the right file?"
        ) from None
    finally:
        loader.dispose()


def read_yaml(path: Path, what: str = "YAML file") -> Any:
    """A YAML (or JSON) file parsed safely within the limits above; bad YAML is one line with its line."""
    import yaml

    try:
        return load_yaml(read_text(path, what, MAX_YAML_BYTES), str(path))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise SosbenchError(f"{path}{line}: not valid YAML ({problem}); fix the file") from None


class _YamlRefused(Exception):
    """A YAML document over a limit (depth, alias expansion) or with an alias cycle."""


@functools.cache
def _bounded_loader() -> type:
    """PyYAML's pure-Python safe loader (libyaml's composer recurses in C, unguarded) that stops scanning
    at :data:`MAX_DEPTH` nested collections (flow brackets or block indentation: the scanner's work per
    token grows with the depth) and checks the composed node graph before building any value: its depth,
    its expanded size, and alias cycles."""
    import yaml

    class BoundedLoader(yaml.SafeLoader):
        def fetch_flow_collection_start(self, TokenClass: Any) -> None:
            if self.flow_level >= MAX_DEPTH:
                raise _YamlRefused(f"nested deeper than {MAX_DEPTH} levels: is this the right file?")
            super().fetch_flow_collection_start(TokenClass)

        def add_indent(self, column: int) -> bool:
            if len(self.indents) >= MAX_DEPTH:
                raise _YamlRefused(f"nested deeper than {MAX_DEPTH} levels: is this the right file?")
            return bool(super().add_indent(column))

        def construct_document(self, node: Any) -> Any:
            _check_yaml_graph(node)
            return super().construct_document(node)

    return BoundedLoader


def _check_yaml_graph(root: Any) -> None:
    """Depth and expanded size of a composed YAML document, computed once per node (aliases share nodes)."""
    import yaml

    def children(node: Any) -> list[Any]:
        if isinstance(node, yaml.SequenceNode):
            return list(node.value)
        if isinstance(node, yaml.MappingNode):
            return [part for pair in node.value for part in pair]
        return []

    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(root, False)]
    open_nodes: set[int] = set()
    while stack:
        node, closing = stack.pop()
        key = id(node)
        if closing:
            kids = children(node)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            open_nodes.discard(key)
            if depth[key] > MAX_DEPTH:
                raise _YamlRefused(f"nested deeper than {MAX_DEPTH} levels: is this the right file?")
            continue
        if key in size:
            continue
        open_nodes.add(key)
        stack.append((node, True))
        for kid in children(node):
            if id(kid) in open_nodes:
                raise _YamlRefused(
                    "an alias refers to a node that contains it: sosbench reads no recursive YAML"
                )
            if id(kid) not in size:
                stack.append((kid, False))
    if size[id(root)] - len(size) > MAX_YAML_ALIAS_NODES:
        raise _YamlRefused(
            f"aliases expand it to {size[id(root)]:,} nodes from {len(size):,} "
            f"(more than {MAX_YAML_ALIAS_NODES:,} added): is it an alias bomb?"
        )


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


# ------------------------------------------------------------------------------------------ locks


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
