"""`sosbench list` (sosbench.cli._list) and what starting the command line imports."""

from __future__ import annotations

import json
import subprocess
import sys

from _cli import sosbench_in_process


def test_list_json_has_the_documented_keys() -> None:
    out = sosbench_in_process("list", "--format", "json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert len(rows) == 24
    for row in rows:
        assert {"name", "factor", "engine", "dataset", "size", "metric"} <= set(row)
    assert {r["name"]: r["dataset"] for r in rows}["bbq"] == "walledai/BBQ"


def test_list_unknown_name_is_one_line_no_traceback() -> None:
    out = sosbench_in_process("list", "--benchmarks", "mmlu_prp")
    assert out.returncode == 1
    assert out.stderr.strip() == "error: unknown benchmark 'mmlu_prp': did you mean mmlu-pro, musr?"


def test_cli_start_up_imports_no_heavy_library() -> None:
    code = (
        "import sys; from sosbench.cli import app; import sosbench.suite; sosbench.suite.benchmarks(); "
        "heavy = {'torch', 'transformers', 'lm_eval', 'datasets', 'matplotlib', 'openai', 'vllm'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.stdout.strip() == "[]", out.stderr
