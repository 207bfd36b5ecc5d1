"""The LiveBench release SOS-Bench used: its date, categories and 17 tasks, and the scoring protocols.

All of it is read from the release entry in sosbench/suite/livebench_releases.yaml (the one source of
truth for releases); this module only gives the default release's names the scorers use.
"""

from __future__ import annotations

from types import MappingProxyType

from sosbench.errors import SosbenchError
from sosbench.suite import PROTOCOLS, livebench_release

_DEFAULT = livebench_release()
RELEASE = _DEFAULT.date
"""The LiveBench release of the SOS-Bench paper (910 questions, 17 tasks)."""

CATEGORIES: MappingProxyType[str, tuple[str, ...]] = _DEFAULT.category_tasks
TASK_CATEGORY: MappingProxyType[str, str] = _DEFAULT.task_category


def category_of(task: str) -> str:
    """The category of one of the 17 tasks."""
    try:
        return TASK_CATEGORY[task]
    except KeyError:
        raise SosbenchError(
            f"unknown LiveBench task {task!r}: expected one of {', '.join(sorted(TASK_CATEGORY))}"
        ) from None


def check_protocol(protocol: str) -> str:
    """Validate a protocol name."""
    if protocol not in PROTOCOLS:
        raise SosbenchError(f"unknown protocol {protocol!r}: use one of {', '.join(PROTOCOLS)}")
    return protocol
