"""Level 5 selection for the paper-era MATH-hard tasks (sosbench's own; see _template_yaml).

The paper read lighteval/MATH-Hard, which held only MATH's Level 5 items. Its successor
DigitalLearningGmbH/MATH-lighteval holds every level, so the Level 5 rows are kept first (the same
filter lm-eval's current leaderboard_math_hard applies) and the paper's own ``process_docs`` then runs
on them unchanged.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import datasets


def _paper_utils() -> ModuleType:
    """The paper-era utils.py next to this file (lm-eval loads hook files by path, not as a package)."""
    spec = importlib.util.spec_from_file_location(
        "sos_leaderboard_math_utils", Path(__file__).with_name("utils.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def process_docs(dataset: datasets.Dataset) -> datasets.Dataset:
    return _paper_utils().process_docs(dataset.filter(lambda doc: doc["level"] == "Level 5"))
