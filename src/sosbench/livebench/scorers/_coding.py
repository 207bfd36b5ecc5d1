"""Coding scorers (LCB_generation, coding_completion): run the extracted program on every test case.

LiveBench 2024-07 semantics (its copy of LiveCodeBench's harness, read at LiveBench 8df6cd5): code =
the lines between the first two lines holding a triple backtick; completion answers are appended to
the question's partial solution; the answer runs as LiveBench ran it (``_coding_harness``, inside
``sosbench.sandbox``: one process for all test cases of an answer, so state carries over);
tests run in order, the first failure ends the question, and the output is compared here, outside
the sandbox, by the official rules (``stdout_matches``, ``call_matches``); score 1 iff all pass.

Whatever an answer prints, scoring it is bounded: each test's result line is at most
``max(SandboxLimits.max_line_bytes, 8 x the expected output)`` bytes (a returned value's floor is
64 KiB), the comparisons walk the output's lines one at a time (no list of millions of lines), and the
answer's deadline covers them too.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
import pickle
import time
import zlib
from collections.abc import Iterable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

from sosbench.sandbox import DEFAULT_LIMITS, Frame, ResultLine, SandboxLimits, SandboxMode, run_harness

HARNESS = Path(__file__).with_name("_coding_harness.py")
TEST_TIMEOUT_S = 6
"""LiveBench's per-test alarm."""
TIME_GRACE_S = 0.5
"""Under the corrected protocol a test's result must arrive within its alarm plus this (the harness's own
work after the alarm is disarmed: encoding and sending the result)."""
OUTPUT_FACTOR = 8
"""A test's result line may hold this many times its expected output (JSON escapes at most double a
newline, and the floor, ``SandboxLimits.max_line_bytes``, covers short outputs)."""
VALUE_LINE_BYTES = 64 * 1024
"""The floor for a returned value's result line (LeetCode problems), where the expected value is short."""


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
        pass
    try:
        text = _StrOnlyUnpickler(io.BytesIO(zlib.decompress(base64.b64decode(field)))).load()
    except (binascii.Error, zlib.error, EOFError, ValueError) as error:
        raise ValueError(f"test cases are neither JSON nor base64/zlib/pickle of JSON ({error})") from None
    if not isinstance(text, str):
        raise TypeError("private test cases did not decode to a JSON string")
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


_LINE_BREAKS = str.maketrans(dict.fromkeys("\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029", "\n"))
"""Every line boundary of ``str.splitlines`` but "\\r\\n" (replaced first) and "\\n" itself."""


def _line_text(text: str) -> str:
    """``text`` with every line boundary ``str.splitlines`` knows made one "\\n" (one copy, no list)."""
    return text.replace("\r\n", "\n").translate(_LINE_BREAKS)


def _lines(text: str) -> Iterator[str]:
    """The lines of ``_line_text`` output, as ``str.splitlines`` gives them, one at a time."""
    start, size = 0, len(text)
    while start < size:
        end = text.find("\n", start)
        if end < 0:
            yield text[start:]
            return
        yield text[start:end]
        start = end + 1


def _same(lines: Iterable[str], target: list[str]) -> bool:
    """``list(lines) == target``, stopping at the first difference."""
    count = 0
    for line in lines:
        if count >= len(target) or line != target[count]:
            return False
        count += 1
    return count == len(target)


def _same_stripped(text: str, target: str) -> bool:
    """``"\\n".join(line.strip() for line in lines).strip() == target`` (``target`` stripped), without the
    joined copy: the stripped lines between the first and last non-empty one are ``target``'s lines."""
    wanted = target.split("\n") if target else []
    index, blanks, started = 0, 0, False
    for line in _lines(text):
        stripped = line.strip()
        if not stripped:
            blanks += started
            continue
        started = True
        at = index + blanks  # the blank lines before it must be blank in target too
        if at >= len(wanted) or wanted[at] != stripped or any(wanted[index:at]):
            return False
        index, blanks = at + 1, 0
    return index == len(wanted)


def _numbers_close(text: str, want: list[str]) -> bool:
    """LiveBench's last resort: unless every paired line is a digit string, each non-empty output line
    is a number within ``numpy.allclose`` tolerances of its expected line (as many lines as expected)."""
    count, all_digits, close = 0, True, True
    for line in (line for line in _lines(text) if line):
        if count >= len(want):
            return False
        wanted = want[count]
        count += 1
        all_digits = all_digits and line.isdigit() and wanted.isdigit()
        try:
            got, expected = float(line), float(wanted)
        except ValueError:
            return False
        close = close and _allclose(got, expected)
    return count == len(want) and not all_digits and close


def _allclose(got: float, expected: float) -> bool:
    """One element of ``numpy.allclose(got, expected)`` (rtol 1e-05, atol 1e-08, infinities equal only to
    themselves, NaN to nothing), in plain floats: numpy computes the same float64 expression."""
    if math.isfinite(got) and math.isfinite(expected):
        return abs(got - expected) <= 1e-08 + 1e-05 * abs(expected)
    return got == expected


def stdout_matches(output: str, expected: str) -> bool:
    """LiveBench's stdin comparison: the whole text stripped, or stripped lines joined; else the output's
    lines (blank ones dropped) against the expected non-empty lines stripped, exactly or, unless every
    paired line is a digit string, as one number per line within ``numpy.allclose`` tolerances. The
    output's lines are walked one at a time, so a million-line output costs no list of a million lines."""
    text = _line_text(output)
    if text.strip() == expected.strip() or _same_stripped(text, expected.strip()):
        return True
    want = [line.strip() for line in expected.split("\n") if line]
    if _same(_lines(text), [expected]) or _same(_lines(text), want):
        return True
    if _same((line for line in _lines(text) if line), want):
        return True
    return _numbers_close(text, want)


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
    data = frame.data
    if data is None or data.get("ok") is not True:
        return False
    try:
        if call:
            return call_matches(decode_value(data["value"]), expected)
        return isinstance(data.get("out"), str) and stdout_matches(data["out"], expected)
    except (KeyError, TypeError, ValueError, RecursionError):
        return False


def result_lines(
    tests: list[dict[str, Any]], limits: SandboxLimits, per_test_s: float | None, *, call: bool
) -> list[ResultLine]:
    """Each test's bound: its result line's size, and (``per_test_s``) when it must arrive. The first
    line also covers loading the program, which has its own alarm. A returned value gets the smaller
    floor: parsed, each of its lists and dicts costs about 20 times its bytes, text about twice."""
    floor = min(limits.max_line_bytes, VALUE_LINE_BYTES) if call else limits.max_line_bytes
    return [
        ResultLine(
            max_bytes=max(floor, OUTPUT_FACTOR * len(test["output"])),
            within_s=None if per_test_s is None else per_test_s * (2 if index == 0 else 1) + TIME_GRACE_S,
        )
        for index, test in enumerate(tests)
    ]


def run_tests(
    code: str,
    tests: list[dict[str, Any]],
    fn_name: str | None,
    *,
    limits: SandboxLimits = DEFAULT_LIMITS,
    sandbox: SandboxMode = SandboxMode.BWRAP,
    test_timeout_s: int = TEST_TIMEOUT_S,
    strict_time: bool = False,
) -> bool:
    """True iff the program passes every test in order (stopping, and killing the sandbox, at the first
    failure). Its global budget is LiveBench's, ``(timeout + 1) x tests + 5`` s, and covers comparing too;
    ``strict_time`` also holds each test to its own ``timeout`` (+0.5 s) from outside the sandbox, which an
    answer that ignores the alarm otherwise escapes (the paper protocol keeps LiveBench's gap)."""
    call = fn_name is not None
    request = {
        "mode": "call" if call else "stdin",
        "code": code,
        "fn_name": fn_name,
        "inputs": [test["input"] for test in tests],
        "timeout": test_timeout_s,
    }
    budget_s = (test_timeout_s + 1) * len(tests) + 5
    deadline = time.monotonic() + budget_s + limits.startup_s
    lines = result_lines(tests, limits, test_timeout_s if strict_time else None, call=call)
    frames = run_harness(HARNESS, request, deadline_s=budget_s, limits=limits, mode=sandbox, lines=lines)
    with closing(frames):
        for test in tests:
            frame = next(frames, Frame(None, "ended"))
            if not _frame_passes(frame, test["output"], call) or time.monotonic() > deadline:
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
    """1 iff the program passes every public and private test (stopping at the first failure). The
    corrected protocol holds each test to LiveBench's 6 s from outside the sandbox as well."""
    code = program_for(question, answer, corrected=corrected)
    if not code.strip():
        return 0.0
    tests = decode_test_cases(question["public_test_cases"]) + decode_test_cases(
        question["private_test_cases"]
    )
    if not tests:
        return 0.0
    passed = run_tests(
        code, tests, function_name(question), limits=limits, sandbox=sandbox, strict_time=corrected
    )
    return 1.0 if passed else 0.0
