"""The built-in SOS-Bench suite, registered through the same entry point plugins use."""

from __future__ import annotations

from pathlib import Path

SUITE_FILE = Path(__file__).with_name("benchmarks.yaml")


def load_builtin() -> Path:
    """Entry point ``sosbench.benchmarks:builtin``: the YAML file that defines the suite."""
    return SUITE_FILE
