"""Coding scorers and the sandbox: correct programs pass, and hostile programs are contained and score 0.

No 2024-06-24 coding question is available offline, so the questions here are written in the
LiveCodeBench row format (public JSON tests, private tests base64 -> zlib -> pickle -> JSON,
original_json.metadata.func_name for LeetCode-style problems). Limits are small: the machine is shared.
"""

from __future__ import annotations

import base64
import json
import os
import pickle
import time
import zlib
from pathlib import Path
from typing import Any

import pytest

from sosbench.livebench import SandboxLimits, isolation, run_python
from sosbench.livebench._coding import decode_test_cases, extract_code, score_coding, stdout_matches

SMALL = SandboxLimits(wall_s=4.0, cpu_s=3, memory_bytes=512 * 1024**2, processes=16, file_bytes=1024**2)


def _private(tests: list[dict[str, str]]) -> str:
    return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(tests)))).decode()


def _stdin_question(task: str = "LCB_generation", **extra: Any) -> dict[str, Any]:
    public = [{"input": "3 4\n", "output": "7\n", "testtype": "stdin"}]
    private = [{"input": "10 -2\n", "output": "8\n", "testtype": "stdin"},
               {"input": "0 0\n", "output": "0\n", "testtype": "stdin"}]  # fmt: skip
    return {"question_id": "q-stdin", "task": task, "turns": ["Add two numbers."], "public_test_cases": json.dumps(public),
            "private_test_cases": _private(private), "original_json": {"metadata": "{}"}, **extra}  # fmt: skip


def _call_question() -> dict[str, Any]:
    tests = [{"input": "[2, 7, 11, 15]\n9", "output": "[0, 1]", "testtype": "functional"},
             {"input": "[3, 3]\n6", "output": "[0, 1]", "testtype": "functional"}]  # fmt: skip
    return {"question_id": "q-call", "task": "LCB_generation", "turns": ["Two sum."], "public_test_cases": json.dumps(tests[:1]),
            "private_test_cases": json.dumps(tests[1:]), "original_json": {"metadata": json.dumps({"func_name": "twoSum"})}}  # fmt: skip


def _fenced(code: str) -> str:
    return f"Here is my solution:\n```python\n{code}\n```\nDone."


ADD = "a, b = map(int, input().split())\nprint(a + b)"
TWO_SUM = """class Solution:
    def twoSum(self, nums: List[int], target: int) -> List[int]:
        seen = {}
        for i, n in enumerate(nums):
            if target - n in seen:
                return [seen[target - n], i]
            seen[n] = i"""


def test_correct_programs_pass_stdin_and_call_based_tests() -> None:
    assert score_coding(_stdin_question(), _fenced(ADD), corrected=False, limits=SMALL) == 1.0
    assert score_coding(_call_question(), _fenced(TWO_SUM), corrected=False, limits=SMALL) == 1.0


def test_wrong_or_missing_code_fails() -> None:
    assert score_coding(_stdin_question(), _fenced("print(7)"), corrected=False, limits=SMALL) == 0.0
    assert score_coding(_stdin_question(), ADD, corrected=False, limits=SMALL) == 0.0  # no code fence
    assert (
        score_coding(_stdin_question(), _fenced("raise SystemExit(3)"), corrected=False, limits=SMALL) == 0.0
    )


def test_completion_prepends_the_partial_solution_and_corrected_does_not_duplicate_it() -> None:
    question = _stdin_question("coding_completion", partial_solution="a, b = map(int, input().split())")
    assert score_coding(question, _fenced("print(a + b)"), corrected=False, limits=SMALL) == 1.0
    repeated = _fenced("a, b = map(int, input().split())\nprint(a + b)")
    assert score_coding(question, repeated, corrected=False, limits=SMALL) == 0.0  # input read twice: EOF
    assert score_coding(question, repeated, corrected=True, limits=SMALL) == 1.0


def test_code_extraction_uses_the_first_two_fence_lines() -> None:
    assert extract_code("x\n```python\na\nb\n```\n```\nc\n```") == "a\nb"
    assert extract_code("```python\nonly one fence") == ""


def test_private_tests_decode_and_refuse_pickled_objects() -> None:
    tests = [{"input": "1", "output": "2", "testtype": "stdin"}]
    assert decode_test_cases(_private(tests)) == tests
    hostile = base64.b64encode(zlib.compress(pickle.dumps(os.getcwd))).decode()
    with pytest.raises(pickle.UnpicklingError, match="refusing to unpickle"):
        decode_test_cases(hostile)


def test_stdout_comparison_cascade() -> None:
    assert stdout_matches("7 \n", "7\n")
    assert stdout_matches("0.3333333\n", "0.33333333\n")
    assert not stdout_matches("8\n", "7\n")


def _hostile(code: str) -> float:
    return score_coding(_stdin_question(), _fenced(code), corrected=False, limits=SMALL)


def test_infinite_loop_is_stopped_by_the_time_limits() -> None:
    start = time.monotonic()
    assert _hostile("while True:\n    pass") == 0.0
    assert time.monotonic() - start < SMALL.wall_s + 3


def test_memory_hog_is_stopped() -> None:
    assert _hostile("x = bytearray(2 * 1024**3)\nprint(7)") == 0.0


def test_fork_bomb_is_contained() -> None:
    if os.geteuid() == 0 and not isolation().drop_to_nobody:
        pytest.skip(
            "root without setpriv: RLIMIT_NPROC does not apply to root, a fork bomb would hit the host"
        )
    bomb = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
    start = time.monotonic()
    assert _hostile(bomb) == 0.0
    assert time.monotonic() - start < SMALL.wall_s + 5
    time.sleep(0.5)
    survivors = [p for p in os.listdir("/proc") if p.isdigit() and _cmdline(p).endswith("solution.py")]
    assert survivors == []


def _cmdline(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def test_network_is_unreachable() -> None:
    """A server the test itself listens on (loopback, so this also holds on a machine without internet)."""
    import socket

    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        connect = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
        probe = (
            connect.replace("socket.create", "try:\n    socket.create")
            + "    print('open')\nexcept OSError:\n    print('blocked')"
        )
        assert run_python(probe, limits=SMALL).stdout.strip() == "blocked"
        if isolation().namespaces:  # even the raw _socket module finds no network
            raw = (f"import _socket\ns = _socket.socket()\ns.settimeout(2)\ntry:\n    s.connect(('127.0.0.1', {port}))\n"
                   "    print('open')\nexcept OSError:\n    print('blocked')")  # fmt: skip
            assert run_python(raw, limits=SMALL).stdout.strip() == "blocked"
        assert _hostile(connect + ADD) == 0.0  # a correct program that first opens a connection


def test_writing_outside_the_work_folder_fails_and_the_folder_is_removed(tmp_path: Path) -> None:
    target = tmp_path / "escaped.txt"
    tmp_path.chmod(0o755)
    code = f"import os\nprint(os.getcwd())\nopen({str(target)!r}, 'w').write('x')"
    run = run_python(code, limits=SMALL)
    workdir = run.stdout.strip().splitlines()[0]
    assert not Path(workdir).exists()
    if isolation().drop_to_nobody:
        assert run.status == "error" and not target.exists()


def test_environment_secrets_are_not_visible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOSBENCH_TEST_SECRET", "hunter2")
    code = "import os\nprint('hunter2' in str(os.environ))"
    assert run_python(code, limits=SMALL).stdout.strip() == "False"
    assert (
        _hostile("import os\nassert os.environ.get('SOSBENCH_TEST_SECRET')\n" + ADD) == 0.0
    )  # correct only if it sees it
