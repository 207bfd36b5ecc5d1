"""Coding scorers (LCB_generation, coding_completion): run the extracted program on every test case.

LiveBench 2024-07 semantics (its copy of LiveCodeBench's harness, read at LiveBench 8df6cd5): code =
the lines between the first two lines holding a triple backtick; completion answers are appended to
the question's partial solution; the answer runs as LiveBench ran it (``_coding_harness``, inside
``sosbench.sandbox``: one process for all test cases of an answer, so state carries over);
tests run in order, the first failure ends the question, and the output is compared here, outside
the sandbox, by the official rules (``stdout_matches``, ``call_matches``); score 1 iff all pass.
"""

from __future__ import annotations

import base64
import io
import json
import pickle
import zlib
from contextlib import closing
from pathlib import Path
from typing import Any

from sosbench.errors import SosbenchError
from sosbench.sandbox import DEFAULT_LIMITS, Frame, SandboxLimits, SandboxMode, run_harness

HARNESS = Path(__file__).with_name("_coding_harness.py")


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
    """LiveBench's stdin comparison: the whole text stripped, or stripped lines joined; else the output's
    lines (blank ones dropped) against the expected non-empty lines stripped, exactly or, unless every
    paired line is a digit string, as one number per line within ``numpy.allclose`` tolerances."""
    lines = output.splitlines()
    if "\n".join(lines).strip() == expected.strip():
        return True
    if "\n".join(line.strip() for line in lines).strip() == expected.strip():
        return True
    want = [line.strip() for line in expected.split("\n") if line]
    if lines in ([expected], want):
        return True
    lines = [line for line in lines if line]
    if lines == want:
        return True
    if all(got.isdigit() and wanted.isdigit() for got, wanted in zip(lines, want, strict=False)):
        return False
    try:
        got_numbers, want_numbers = [float(line) for line in lines], [float(line) for line in want]
    except ValueError:
        return False
    import numpy as np

    return len(got_numbers) == len(want_numbers) and bool(np.allclose(got_numbers, want_numbers))


def _int_keys(value: Any) -> Any:
    """Expected values of dict type get int keys and are wrapped in a list, as LiveBench did (if all keys are
    ints)."""
    try:
        if isinstance(value, dict):
            value = [{int(key): item for key, item in value.items()}]
    except (TypeError, ValueError):
        pass
    try:
        if isinstance(value[0], dict):
            value = [{int(key): item for key, item in value[0].items()}]
    except (TypeError, ValueError, KeyError, IndexError):
        pass
    return value


def decode_value(node: Any) -> Any:
    """The harness's JSON encoding of a returned value back to Python (tuples, typed dict keys)."""
    if isinstance(node, list):
        return [decode_value(item) for item in node]
    if isinstance(node, dict):
        if set(node) == {"t"} and isinstance(node["t"], list):
            return tuple(decode_value(item) for item in node["t"])
        if set(node) == {"d"} and isinstance(node["d"], list):
            return {key: decode_value(item) for key, item in node["d"]}
        raise ValueError("not a harness value")
    return node


def call_matches(value: Any, expected: str) -> bool:
    """LiveBench's functional comparison: a top-level tuple becomes a list; equal to the expected value
    or to its first element; a list of tuples is compared, as lists, with the first expected element only."""
    want = _int_keys(json.loads(expected))
    if isinstance(value, tuple):
        value = list(value)
    result = value == want
    if isinstance(want, list) and want:
        result = result or value == want[0]
    try:
        if isinstance(value[0], tuple):
            result = result or [list(item) for item in value] == want[0]
    except (TypeError, KeyError, IndexError):
        pass
    return result is True


def _frame_passes(frame: Frame, expected: str, call: bool) -> bool:
    if frame.data is None:
        if frame.problem.startswith("sandbox did not start"):
            raise SosbenchError(f"{frame.problem}: the coding sandbox is broken here, not the answer")
        return False
    data = frame.data
    if data.get("ok") is not True:
        return False
    try:
        if call:
            return call_matches(decode_value(data["value"]), expected)
        return isinstance(data.get("out"), str) and stdout_matches(data["out"], expected)
    except (KeyError, TypeError, ValueError, RecursionError):
        return False


def run_tests(
    code: str,
    tests: list[dict[str, Any]],
    fn_name: str | None,
    *,
    limits: SandboxLimits = DEFAULT_LIMITS,
    sandbox: SandboxMode = SandboxMode.BWRAP,
) -> bool:
    """True iff the program passes every test in order (stopping, and killing the sandbox, at the first
    failure)."""
    call = fn_name is not None
    request = {
        "mode": "call" if call else "stdin",
        "code": code,
        "fn_name": fn_name,
        "inputs": [test["input"] for test in tests],
        "timeout": limits.test_timeout_s,
    }
    deadline = (limits.test_timeout_s + 1) * len(tests) + 5  # LiveBench's global timeout for one answer
    frames = run_harness(HARNESS, request, deadline_s=deadline, limits=limits, mode=sandbox)
    with closing(frames):
        for test in tests:
            frame = next(frames, Frame(None, "ended"))
            if not _frame_passes(frame, test["output"], call):
                return False
    return True


def score_coding(
    question: dict[str, Any],
    answer: str,
    *,
    corrected: bool,
    limits: SandboxLimits = DEFAULT_LIMITS,
    sandbox: SandboxMode = SandboxMode.BWRAP,
) -> float:
    """1 iff the program passes every public and private test (stopping at the first failure)."""
    code = program_for(question, answer, corrected=corrected)
    if not code.strip():
        return 0.0
    tests = decode_test_cases(question["public_test_cases"]) + decode_test_cases(
        question["private_test_cases"]
    )
    if not tests:
        return 0.0
    return 1.0 if run_tests(code, tests, function_name(question), limits=limits, sandbox=sandbox) else 0.0
