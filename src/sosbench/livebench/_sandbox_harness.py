"""Runs inside the sandbox child (as a script, no sosbench imports): one program, one test case.

argv: ``stdin`` (run solution.py as ``__main__``; the test input is this process's stdin) or
``call <fn_name>`` (import solution.py, call ``fn_name`` -- a ``Solution`` method when the code
defines ``class Solution`` -- with one JSON argument per line of args.txt, and print the JSON result
after a marker line). The parent compares the output with the expected one, so the expected output
never enters the sandbox.
"""

from __future__ import annotations

import io
import json
import runpy
import socket
import sys

RESULT_MARKER = "\x00sosbench-result\x00"


def _no_network(*_args: object, **_kwargs: object) -> None:
    raise OSError("network access is disabled in the sosbench sandbox")


def _block_network() -> None:
    """Defence in depth; the real barrier is the empty network namespace (unshare --net) when available."""
    socket.socket = _no_network  # type: ignore[assignment,misc]
    socket.create_connection = _no_network  # type: ignore[assignment]
    socket.getaddrinfo = _no_network  # type: ignore[assignment]
    socket.socketpair = _no_network  # type: ignore[assignment]


def _call(fn_name: str) -> None:
    with open("args.txt", encoding="utf-8") as handle:
        args = [json.loads(line) for line in handle.read().split("\n")]
    with open("solution.py", encoding="utf-8") as handle:
        source = handle.read()
    real_stdout, sys.stdout = sys.stdout, io.StringIO()
    namespace = runpy.run_path("solution.py", run_name="solution")
    target = getattr(namespace["Solution"](), fn_name) if "class Solution" in source else namespace[fn_name]
    result = target(*args)
    sys.stdout = real_stdout
    if isinstance(result, tuple):
        result = list(result)
    print(RESULT_MARKER + json.dumps(result), flush=True)


def main() -> None:
    sys.path.insert(0, ".")
    _block_network()
    if sys.argv[1] == "call":
        _call(sys.argv[2])
    else:
        runpy.run_path("solution.py", run_name="__main__")


if __name__ == "__main__":
    main()
