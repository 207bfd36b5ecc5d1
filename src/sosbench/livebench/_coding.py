"""Coding scorers (LCB_generation, coding_completion): run the extracted program on every test case.

LiveBench 2024 semantics (old LiveCodeBench harness): code = the lines between the first two lines
holding a triple backtick; completion answers are appended to the question's partial solution; a
fixed import prelude is prepended; tests run in order and the first failure ends the question;
score 1 iff all pass. Each test case runs in its own sandboxed process (see ``_sandbox``).
"""

from __future__ import annotations

import base64
import io
import json
import pickle
import zlib
from typing import Any

from sosbench.livebench._sandbox import DEFAULT_LIMITS, RESULT_MARKER, SandboxLimits, run_python

PRELUDE = (
    "import string\nimport re\nimport datetime\nimport collections\nimport heapq\nimport bisect\n"
    "import copy\nimport math\nimport random\nimport statistics\nimport itertools\nimport functools\n"
    "import operator\nimport io\nimport sys\nimport json\n"
    "from string import *\nfrom re import *\nfrom datetime import *\nfrom collections import *\n"
    "from heapq import *\nfrom bisect import *\nfrom copy import *\nfrom math import *\nfrom random import *\n"
    "from statistics import *\nfrom itertools import *\nfrom functools import *\nfrom operator import *\n"
    "from io import *\nfrom sys import *\nfrom json import *\nfrom builtins import *\nfrom typing import *\n"
    "sys.setrecursionlimit(6*10**5)\n"
)
"""The import prelude LiveCodeBench's harness put before every program."""


def extract_code(answer: str) -> str:
    """The lines strictly between the first two lines containing a triple backtick ("" if fewer than two)."""
    lines = answer.split("\n")
    fences = [index for index, line in enumerate(lines) if "```" in line]
    if len(fences) < 2:
        return ""
    return "\n".join(lines[fences[0] + 1 : fences[1]])


def program_for(question: dict[str, Any], answer: str, *, corrected: bool) -> str:
    """The program to test. Completion: partial solution + "\\n" + code (corrected: not when the
    answer already starts with the partial solution)."""
    code = extract_code(answer)
    if question["task"] == "coding_completion":
        partial = question["partial_solution"]
        if not (corrected and code.lstrip().startswith(partial.strip())):
            code = partial + "\n" + code
    return code


class _StrOnlyUnpickler(pickle.Unpickler):
    """The private tests are a pickled str: refuse every global, so no pickle can run code."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}")


def decode_test_cases(field: str | list[Any]) -> list[dict[str, Any]]:
    """Public/private tests: a JSON string, or base64 -> zlib -> pickle(str) -> JSON."""
    if isinstance(field, list):
        return field
    try:
        return json.loads(field)
    except json.JSONDecodeError:
        text = _StrOnlyUnpickler(io.BytesIO(zlib.decompress(base64.b64decode(field)))).load()
        if not isinstance(text, str):
            raise TypeError("private test cases did not decode to a JSON string") from None
        return json.loads(text)


def function_name(question: dict[str, Any]) -> str | None:
    """LeetCode problems name the function to call in original_json.metadata."""
    original = question.get("original_json") or {}
    if isinstance(original, str):
        original = json.loads(original)
    metadata = original.get("metadata") or "{}"
    if isinstance(metadata, str):
        metadata = json.loads(metadata)
    return metadata.get("func_name")


def stdout_matches(output: str, expected: str) -> bool:
    """LiveCodeBench's stdin comparison cascade: whole text, stripped lines, numbers (numpy ``allclose``
    tolerances, when the expected numbers are not all integers), then per-line token sets."""
    if output.strip() == expected.strip():
        return True
    got = [line.strip() for line in output.strip().split("\n")]
    want = [line.strip() for line in expected.strip().split("\n")]
    if got == want:
        return True
    got_numbers, want_numbers = _floats(output.split()), _floats(expected.split())
    if (
        got_numbers is not None
        and want_numbers is not None
        and len(got_numbers) == len(want_numbers)
        and not all(value.is_integer() for value in want_numbers)
        and all(abs(a - b) <= 1e-8 + 1e-5 * abs(b) for a, b in zip(got_numbers, want_numbers))
    ):
        return True
    return bool(expected.split()) and {frozenset(line.split()) for line in got} == {
        frozenset(line.split()) for line in want
    }


def _floats(tokens: list[str]) -> list[float] | None:
    try:
        return [float(token) for token in tokens]
    except ValueError:
        return None


def call_matches(output: str, expected: str) -> bool:
    """The returned value equals the expected JSON value, or its first element when that is a list."""
    lines = [line for line in output.split("\n") if line.startswith(RESULT_MARKER)]
    if not lines:
        return False
    got = json.loads(lines[-1][len(RESULT_MARKER) :])
    want = json.loads(expected)
    return got == want or (isinstance(want, list) and bool(want) and got == want[0])


def passes(program: str, test: dict[str, Any], fn_name: str | None, limits: SandboxLimits) -> bool:
    """Run one test case in a fresh sandboxed process."""
    if fn_name is None:
        run = run_python(program, stdin=test["input"], limits=limits)
        return run.status == "ok" and stdout_matches(run.stdout, test["output"])
    run = run_python(program, call=(fn_name, test["input"]), limits=limits)
    try:
        return run.status == "ok" and call_matches(run.stdout, test["output"])
    except json.JSONDecodeError:
        return False


def score_coding(
    question: dict[str, Any], answer: str, *, corrected: bool, limits: SandboxLimits = DEFAULT_LIMITS
) -> float:
    """1 iff the program passes every public and private test (stopping at the first failure)."""
    code = program_for(question, answer, corrected=corrected)
    if not code.strip():
        return 0.0
    tests = decode_test_cases(question["public_test_cases"]) + decode_test_cases(
        question["private_test_cases"]
    )
    fn_name = function_name(question)
    program = PRELUDE + code
    return 1.0 if tests and all(passes(program, test, fn_name, limits) for test in tests) else 0.0
