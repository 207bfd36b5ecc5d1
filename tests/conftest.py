"""Shared test fixtures: offline by construction, real data from ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SOSBENCH_SHARED", REPO.parent / "shared")).resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only ../shared/data folder (real benchmark items, artifacts, LiveBench answers)."""
    path = SHARED / "data"
    if not path.is_dir():
        pytest.fail(f"{path} is missing: tests read real data from ../shared/data (or set SOSBENCH_SHARED)")
    return path


@pytest.fixture(autouse=True, scope="session")
def _offline_environment(tmp_path_factory: pytest.TempPathFactory) -> None:
    """No hub, and caches in a temp folder so nothing depends on the user's machine."""
    home = tmp_path_factory.mktemp("hf_home")
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ["HF_HOME"] = str(home)
    os.environ["HF_DATASETS_CACHE"] = str(home / "datasets")
    os.environ.pop("SOSBENCH_DATA_DIR", None)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """A random Llama with a byte-level BPE tokenizer and a chat template (see tests/_tiny_model.py)."""
    from _tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny_model") / "tiny-llama", shared_data)


@pytest.fixture(scope="session")
def sample_mirror(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """An offline mirror holding the real sample items of ../shared/data/samples (tests/_sample_mirror.py)."""
    from _sample_mirror import build_sample_mirror

    return build_sample_mirror(shared_data, tmp_path_factory.mktemp("mirror"))
