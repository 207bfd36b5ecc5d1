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
        super().__init__(f"{module} is not installed: run `pip install 'sosbench[{extra}]'`")


def require(module: str, extra: str) -> None:
    """Fail with a one-line install hint if ``module`` cannot be imported."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise MissingExtraError(module, extra)
