"""Runs inside the sandbox (as a script, standard library only): one answer against all its test inputs.

It reproduces how LiveBench's 2024-07 harness (LiveCodeBench's ``testing_util.run_test``) executes
an answer, because scores depend on it: the import prelude, the rewrite of stdin programs into a
function ``code()`` of a module named ``tmp_sol``, one module (and one ``Solution`` instance) for all
test cases, the patched ``sys.stdin``/``open``, ``SystemExit`` swallowed, ``exit``/``quit`` and
other functions disabled, a 6 s alarm per test. It never sees the expected outputs: it writes what
the program produced, one JSON line per test on the result pipe, and the scorer (outside the
sandbox) compares. Protocol:

* stdin (fd 0): one JSON request ``{"mode": "stdin"|"call", "code", "fn_name", "inputs", "timeout"}``,
  read whole before anything runs (the sandbox has set its hard limits already); fd 0 then becomes
  ``/dev/null`` (the official harness ran in a child whose real stdin was ``/dev/null``; ``open(0)``
  reads it).
* stdout (fd 1): ``{"ready": true}``, then per test ``{"ok": true, "out": str}`` (stdin mode) or
  ``{"ok": true, "value": v}`` (call mode; tuples as ``{"t": [...]}``, dicts as ``{"d": [[k, v], ...]}``)
  or ``{"ok": false, "error": str}``, after which nothing more runs. The program's own writes to
  fd 1 and fd 2 go to ``/dev/null``.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import json
import os
import signal
import sys
from io import StringIO
from typing import Any
from unittest.mock import mock_open, patch

PRELUDE = (
    "from string import *\nfrom re import *\nfrom datetime import *\nfrom collections import *\n"
    "from heapq import *\nfrom bisect import *\nfrom copy import *\nfrom math import *\nfrom random import "
    "*\n"
    "from statistics import *\nfrom itertools import *\nfrom functools import *\nfrom operator import *\n"
    "from io import *\nfrom sys import *\nfrom json import *\nfrom builtins import *\nfrom typing import *\n"
    "import string\nimport re\nimport datetime\nimport collections\nimport heapq\nimport bisect\nimport "
    "copy\n"
    "import math\nimport random\nimport statistics\nimport itertools\nimport functools\nimport operator\n"
    "import io\nimport sys\nimport json\nsys.setrecursionlimit(6*10**5)\n"
)
"""LiveCodeBench's prelude: the ``from X import *`` lines first, so each name X is then the module."""


class TimeoutException(Exception):  # the official name; answers may catch it by name
    """Raised by the per-test alarm."""


def _alarm(_signum: int, _frame: object) -> None:
    print("alarm went off")  # into the captured output, as the official handler did
    raise TimeoutException


class _Results:
    """The result pipe: a private duplicate of fd 1, closed on exec."""

    def __init__(self) -> None:
        self.fd = os.dup(1)
        os.set_inheritable(self.fd, False)

    def send(self, frame: dict[str, Any]) -> None:
        data = (json.dumps(frame, ensure_ascii=True, allow_nan=True) + "\n").encode()
        while data:
            data = data[os.write(self.fd, data) :]


def _isolate_stdio() -> None:
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def _guard() -> None:
    """The official ``reliability_guard``: the same functions disabled, so answers that use them fail
    alike."""
    builtins.exit = None  # type: ignore[assignment]
    builtins.quit = None  # type: ignore[assignment]
    os.environ["OMP_NUM_THREADS"] = "1"
    for name in (
        "kill",
        "system",
        "putenv",
        "remove",
        "removedirs",
        "rmdir",
        "fchdir",
        "setuid",
        "fork",
        "forkpty",
        "killpg",
        "rename",
        "renames",
        "truncate",
        "replace",
        "unlink",
        "fchmod",
        "fchown",
        "chmod",
        "chown",
        "chroot",
        "lchflags",
        "lchmod",
        "lchown",
        "getcwd",
        "chdir",
    ):
        setattr(os, name, None)
    import shutil
    import subprocess

    shutil.rmtree = shutil.move = shutil.chown = None  # type: ignore[assignment]
    subprocess.Popen = None  # type: ignore[assignment,misc]
    builtins.help = None  # type: ignore[assignment]
    for name in ("ipdb", "joblib", "resource", "psutil", "tkinter"):
        sys.modules[name] = None  # type: ignore[assignment]


def _preload() -> None:
    """numpy is imported before the guard, as LiveBench's harness module did (several functions numpy's
    import needs are disabled afterwards), so ``import numpy`` in an answer finds it loaded."""
    with contextlib.suppress(ImportError):
        import numpy  # noqa: F401


def _new_module(source: str) -> Any:
    """Execute ``source`` as a fresh module ``tmp_sol`` that is not in ``sys.modules`` (as pyext did)."""
    module = type(sys)("tmp_sol")
    module.__doc__ = ""
    exec(compile(source, "tmp_sol", "exec"), module.__dict__)  # running the answer is the point
    return module


def _stdin_program(code: str) -> str:
    """The official rewrite: drop a trailing ``if __name__ == '__main__':`` guard (keeping its body),
    keep unindented ``import``/``from`` lines at module level and put every other line into ``code()``."""
    try:
        tree = ast.parse(code)
        last = tree.body[-1]
        if isinstance(last, ast.If) and ast.unparse(last.test).strip() == "__name__ == '__main__'":
            # ast.unparse walks a statement list too (typeshed says one node); the official harness did this
            code = ast.unparse(tree.body[:-1]) + "\n" + ast.unparse(last.body)  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - the official harness ignored every failure here
        pass
    lines = []
    for line in code.split("\n"):
        is_import = line.startswith("from ") or line.startswith("import ")
        lines.append(line + "\n" if is_import else "\t" + line + "\n")
    program, started = "", False
    for line in lines:
        if line.startswith("\t") and not started:
            program += "stdin = sys.stdin\nstdout = sys.stdout\ndef code():\n" + line
            started = True
        elif started and (line.startswith("from ") or line.startswith("import ")):
            program += "\t" + line
        else:
            program += line
    return program


def _run_stdin(method: Any, text: str) -> str:
    """One stdin test: patched input sources (patches entered in the official order), output captured."""
    lines = iter(text.split("\n"))
    captured = StringIO()
    captured.close = lambda *_: None  # type: ignore[method-assign]
    real_stdout, sys.stdout = sys.stdout, captured
    try:
        with (
            patch("sys.stdin.read", lambda *_: text),
            patch("sys.stdin.readlines", lambda *_: text.split("\n")),
            patch("sys.stdin.readline", lambda *_: next(lines)),
            patch("sys.stdin", StringIO(text)),
            patch("builtins.open", mock_open(read_data=text)),
            contextlib.suppress(SystemExit),
        ):
            method()
    finally:
        sys.stdout = real_stdout
    return captured.getvalue()


def _encode(value: Any) -> Any:
    """JSON with the distinctions equality needs: tuples and dict keys keep their types."""
    if isinstance(value, tuple):
        return {"t": [_encode(item) for item in value]}
    if isinstance(value, list):
        return [_encode(item) for item in value]
    if isinstance(value, dict):
        return {"d": [[key, _encode(item)] for key, item in value.items()]}
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


def _call_inputs(text: str) -> list[Any]:
    inputs = [json.loads(line) for line in text.split("\n")]
    try:  # the official harness replaced the argument list by its first dict, int keys restored
        if isinstance(inputs[0], dict):
            inputs = [{int(key): item for key, item in inputs[0].items()}]
    except Exception:  # noqa: BLE001
        pass
    return inputs


def main() -> None:
    request = json.loads(sys.stdin.buffer.read())
    results = _Results()
    _isolate_stdio()
    timeout = int(request["timeout"])
    signal.signal(signal.SIGALRM, _alarm)
    _preload()
    results.send({"ready": True})
    _guard()
    code, call = request["code"], request["mode"] == "call"
    signal.alarm(timeout)
    try:
        module = _new_module(PRELUDE + (code if call else _stdin_program(code)))
        target = module.Solution() if call and "class Solution" in code else module
        signal.alarm(0)
        method = getattr(target, request["fn_name"] if call else "code")
    except BaseException as error:  # noqa: BLE001 - any failure scores 0
        signal.alarm(0)
        results.send({"ok": False, "error": f"compile: {error!r}"[:500]})
        return
    for text in request["inputs"]:
        try:
            if call:
                arguments = _call_inputs(text)
                signal.alarm(timeout)
                value = method(*arguments)
                json.dumps(value)  # the official harness logged the value this way; unserialisable fails
                signal.alarm(0)
                frame = {"ok": True, "value": _encode(value)}
            else:
                signal.alarm(timeout)
                frame = {"ok": True, "out": _run_stdin(method, text)}
                signal.alarm(0)
        except BaseException as error:  # noqa: BLE001
            signal.alarm(0)
            results.send({"ok": False, "error": repr(error)[:500]})
            return
        results.send(frame)


if __name__ == "__main__":
    main()
