"""Where the tests' files are, for a test module in any folder under tests/: the repository, tests/ itself
(its shared helpers, importable from every test through pytest's ``pythonpath``), tests/data, and the
shared data folder (``../shared`` beside the repository, or ``SOSBENCH_SHARED``)."""

from __future__ import annotations

import os
from pathlib import Path

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
TEST_DATA = TESTS / "data"
SHARED = Path(os.environ.get("SOSBENCH_SHARED", REPO.parent / "shared")).resolve()
