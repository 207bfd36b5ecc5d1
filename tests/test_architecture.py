"""The package's shape, as docs/architecture.md states it: each package is used through its public face.

import-linter (`.ci/run`) checks which package may import which; this checks how: code in one package
never imports another package's private modules or names (``sosbench.judge._files``, ``from
sosbench.judge import _x``). The shared infrastructure below every layer (``sosbench._io``,
``sosbench._registry``, ``sosbench._defaults``) is private to sosbench, not to one package, so it is
open to all. It also keeps the sizes docs/architecture.md states: no module over 600 lines, no
function body over 100.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from _paths import REPO

SRC = REPO / "src" / "sosbench"


def _package(path: Path, root: Path) -> str:
    """The top-level package a source file belongs to (``""`` for modules at the root of sosbench)."""
    parts = path.relative_to(root).parts
    return parts[0] if len(parts) > 1 else ""


def private_cross_package_imports(root: Path = SRC) -> list[str]:
    """``file:line: statement`` for every import of another package's private module or name."""
    found = []
    for path in sorted(root.rglob("*.py")):
        own = _package(path, root)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [(node.module, [alias.name for alias in node.names])]
            elif isinstance(node, ast.Import):
                modules = [(alias.name, []) for alias in node.names]
            else:
                continue
            for module, names in modules:
                parts = module.split(".")
                if (
                    parts[0] != "sosbench"
                    or len(parts) < 2
                    or parts[1] in ("", own)
                    or parts[1].startswith("_")
                ):
                    continue
                if any(p.startswith("_") for p in parts[2:]) or any(n.startswith("_") for n in names):
                    found.append(f"{path.relative_to(root.parent)}:{node.lineno}: {module} {names}")
    return found


def test_no_package_imports_another_packages_private_parts() -> None:
    assert private_cross_package_imports() == []


@pytest.mark.parametrize(
    "statement",
    [
        "from sosbench.judge._files import file_stem",
        "from sosbench.judge import _files",
        "import sosbench.results._read",
    ],
)
def test_the_check_finds_a_private_import(tmp_path: Path, statement: str) -> None:
    package = tmp_path / "cli"
    package.mkdir()
    (package / "_x.py").write_text(f"{statement}\n", encoding="utf-8")
    (tmp_path / "judge").mkdir()
    (tmp_path / "judge" / "_y.py").write_text(
        "from sosbench.judge._files import file_stem\n", encoding="utf-8"
    )
    found = private_cross_package_imports(tmp_path)
    assert len(found) == 1 and found[0].startswith(f"{tmp_path.name}/cli/_x.py:1:")


MAX_MODULE_LINES = 600
MAX_BODY_LINES = 100
PROTOCOL_CODE = SRC / "tasks" / "definitions"  # the paper-era lm-eval task code, kept byte-exact as data


def oversized(root: Path = SRC) -> list[str]:
    """Modules over MAX_MODULE_LINES lines and functions whose body (signature left out: typer's options
    live there) is over MAX_BODY_LINES, as ``file[:line name]: lines``."""
    found = []
    for path in sorted(root.rglob("*.py")):
        if path.is_relative_to(PROTOCOL_CODE):
            continue
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(root.parent)
        if len(text.splitlines()) > MAX_MODULE_LINES:
            found.append(f"{where}: {len(text.splitlines())}")
        for node in ast.walk(ast.parse(text, str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                body = (node.end_lineno or node.lineno) - node.body[0].lineno + 1
                if body > MAX_BODY_LINES:
                    found.append(f"{where}:{node.lineno} {node.name}: {body}")
    return found


def test_no_module_or_function_body_is_oversized() -> None:
    assert oversized() == []


def test_the_size_check_finds_a_long_module_and_a_long_body(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_BODY_LINES + 1))
    (tmp_path / "long.py").write_text(f"def f(\n    a: int,\n) -> None:\n{body}\n", encoding="utf-8")
    (tmp_path / "short.py").write_text(
        "def g() -> None:\n    pass\n" + "\n" * MAX_MODULE_LINES, encoding="utf-8"
    )
    found = oversized(tmp_path)
    assert found == [
        f"{tmp_path.name}/long.py:1 f: {MAX_BODY_LINES + 1}",
        f"{tmp_path.name}/short.py: {MAX_MODULE_LINES + 2}",
    ]
