"""The one error type users see.

Every problem caused by input (a bad option, a missing file, a missing dataset) raises a
``SosbenchError`` whose message is one line saying what is wrong and what to do. The CLI
prints it without a traceback and exits with status 1.
"""

from __future__ import annotations


class SosbenchError(Exception):
    """A user-facing error: one line, stating the problem and the fix."""


class MissingExtraError(SosbenchError):
    """An optional dependency is not installed."""

    def __init__(self, module: str, extra: str) -> None:
        # sosbench is installed from a clone until it is on PyPI (README, Install)
        super().__init__(
            f"{module} is not installed: run `pip install -e '.[{extra}]'` in the sosbench clone"
        )


def require(module: str, extra: str) -> None:
    """Fail with a one-line install hint if ``module`` cannot be imported."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise MissingExtraError(module, extra)


def validation_message(exc: BaseException, where: str) -> str:
    """One line for a pydantic ``ValidationError``: the first problem with its location, and how many more.

    Kept free of a pydantic import so ``sosbench --help`` stays fast; any layer may call it.
    """
    errors = exc.errors() if hasattr(exc, "errors") else []
    if not errors:
        return f"{where}: {exc}"
    first = errors[0]
    location = ".".join(str(part) for part in first.get("loc", ()))
    found = first.get("input")
    shown = "" if isinstance(found, (dict, list)) else f" (found {found!r:.60})"
    more = f"; and {len(errors) - 1} more problem(s)" if len(errors) > 1 else ""
    at = f" {location}:" if location else ""
    return f"{where}:{at} {first.get('msg', 'invalid')}{shown}{more}"


def from_validation(exc: Exception, where: str, fix: str) -> SosbenchError:
    """A ``SosbenchError`` for a pydantic ``ValidationError`` of the file ``where``, with what to do."""
    return SosbenchError(f"{validation_message(exc, where)}: {fix}")


_OS_HINTS = {
    "ENOSPC": "free disk space or choose another folder",
    "EDQUOT": "free disk space or choose another folder",
    "EACCES": "check its permissions or choose another path",
    "EPERM": "check its permissions or choose another path",
    "EROFS": "the file system is read-only: choose another path",
    "EISDIR": "it is a folder: pass a file",
    "ENOTDIR": "a part of the path is a file, not a folder: check the path",
    "ENOENT": "check the path",
    "ENAMETOOLONG": "use a shorter path",
}


def input_problem(exc: BaseException) -> str | None:
    """The one-line message for an exception that input caused (a file, the disk), or None for a bug.

    ``SosbenchError`` says it already; undecodable, non-JSON or non-YAML files, failed file operations and
    failed pydantic validations that escaped their reader still get one line with what to do.
    """
    import errno
    import json

    if isinstance(exc, SosbenchError):
        return " ".join(str(exc).splitlines())
    if isinstance(exc, UnicodeDecodeError):
        return (
            f"a file is not UTF-8 text ({exc.reason} at byte {exc.start}): "
            "pass the text file itself, not a binary one"
        )
    if isinstance(exc, json.JSONDecodeError):
        return (
            f"not valid JSON ({exc.msg}, line {exc.lineno} column {exc.colno}): "
            "restore the file or rerun what wrote it"
        )
    if isinstance(exc, OSError):
        name = exc.filename if exc.filename is not None else "a file"
        hint = _OS_HINTS.get(errno.errorcode.get(exc.errno or 0, ""), "check the path and the disk")
        return f"{name}: {exc.strerror or exc}: {hint}"
    kind = type(exc)
    if kind.__name__ == "ValidationError" and kind.__module__.startswith("pydantic"):
        return validation_message(exc, "invalid input") + ": fix the file it names"
    if kind.__module__.startswith("yaml") and kind.__name__.endswith("Error"):
        lines = str(exc).strip().splitlines()
        return f"not valid YAML ({lines[0] if lines else kind.__name__}): fix the file"
    return None
