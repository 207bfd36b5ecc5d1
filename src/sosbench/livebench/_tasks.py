"""The LiveBench release SOS-Bench used: its date, categories and 17 tasks, and the scoring protocols."""

from __future__ import annotations

from types import MappingProxyType

from sosbench.errors import SosbenchError

RELEASE = "2024-06-24"
"""The LiveBench release of the SOS-Bench paper (910 questions, 17 tasks)."""

CATEGORIES: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {
        "coding": ("LCB_generation", "coding_completion"),
        "data_analysis": ("cta", "tablejoin", "tablereformat"),
        "instruction_following": ("paraphrase", "simplify", "story_generation", "summarize"),
        "language": ("connections", "plot_unscrambling", "typos"),
        "math": ("AMPS_Hard", "math_comp", "olympiad"),
        "reasoning": ("web_of_lies_v2", "zebra_puzzle"),
    }
)
TASK_CATEGORY: MappingProxyType[str, str] = MappingProxyType(
    {task: category for category, tasks in CATEGORIES.items() for task in tasks}
)
PROTOCOLS = ("paper", "corrected")
"""paper: LiveBench's 2024-07-24 scorers, defects included; corrected: the defects in docs/livebench.md fixed."""


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
