"""The scorer's side of a sandbox's pipes: the request goes in, result lines come out, each bounded.

Every result line is bounded before anything else happens to it: in bytes (``ResultLine.max_bytes``,
else ``SandboxLimits.max_line_bytes``), in arrival time (``ResultLine.within_s`` after the line before
it, and the run's deadline), and in nesting depth (one linear scan, then ``json.loads``). So whatever a
sandbox prints, reading and parsing one line costs time and memory linear in a bound the caller chose.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sosbench.sandbox._limits import SandboxLimits

MAX_JSON_DEPTH = 400
"""Deeper result lines are refused before parsing: json.loads recurses once per level."""
_TOKEN = re.compile(rb'["\[\]{}]')
_QUOTE, _BACKSLASH, _OPENERS = ord('"'), ord("\\"), frozenset(b"[{")


@dataclass(frozen=True)
class Frame:
    """One JSON line the script wrote, or the reason there is none."""

    data: dict[str, Any] | None
    problem: str = ""


@dataclass(frozen=True)
class ResultLine:
    """What the scorer accepts as one result line: at most ``max_bytes``, and, where ``within_s`` is set,
    arriving no later than that many seconds after the line before it (or after the script said it is
    ready)."""

    max_bytes: int
    within_s: float | None = None


def _string_end(line: bytes, start: int) -> int:
    """The index of the quote that closes the JSON string opened just before ``start``, or -1. Linear in
    total: each run of backslashes before a quote is counted once."""
    position = start
    while (quote := line.find(b'"', position)) >= 0:
        before = quote - 1
        while before >= start and line[before] == _BACKSLASH:
            before -= 1
        if (quote - 1 - before) % 2 == 0:  # an even run of backslashes escapes itself, not the quote
            return quote
        position = quote + 1
    return -1


def json_depth_ok(line: bytes) -> bool:
    """True when the line's bracket nesting outside strings stays within ``MAX_JSON_DEPTH``, found in one
    pass that skips each string whole (a regex over strings backtracks quadratically on an unclosed one)."""
    if line.count(b"[") + line.count(b"{") <= MAX_JSON_DEPTH:
        return True
    depth, position = 0, 0
    while (token := _TOKEN.search(line, position)) is not None:
        index = token.start()
        if line[index] == _QUOTE:
            end = _string_end(line, index + 1)
            if end < 0:
                return True  # an unclosed string: json.loads refuses the line where the string starts
            position = end + 1
            continue
        depth += 1 if line[index] in _OPENERS else -1
        if depth > MAX_JSON_DEPTH:
            return False
        position = index + 1
    return True


def parse(line: bytes) -> Frame:
    if not json_depth_ok(line):
        return Frame(None, "result nested too deeply")
    try:
        data = json.loads(line)
    except (ValueError, RecursionError):
        return Frame(None, "unreadable result line")
    return Frame(data) if isinstance(data, dict) else Frame(None, "result is not an object")


class _Pipes:
    """The sandbox's stdin (the request), stdout (result lines) and stderr (the last 4 KiB, for errors)."""

    def __init__(self, process: subprocess.Popen[bytes], payload: bytes) -> None:
        assert process.stdin and process.stdout and process.stderr
        self.process, self.pending = process, memoryview(payload)
        self.selector = selectors.DefaultSelector()
        for pipe, event in (
            (process.stdin, selectors.EVENT_WRITE),
            (process.stdout, selectors.EVENT_READ),
            (process.stderr, selectors.EVENT_READ),
        ):
            os.set_blocking(pipe.fileno(), False)
            self.selector.register(pipe, event)
        self.buffer, self.errors, self.received = bytearray(), b"", 0

    @property
    def closed(self) -> bool:
        return not self.selector.get_map()

    def pump(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` and move what is ready; True if result bytes arrived."""
        arrived = False
        for key, _events in self.selector.select(timeout_s):
            pipe = key.fileobj
            if pipe is self.process.stdin:
                self._write()
                continue
            try:
                chunk = os.read(pipe.fileno(), 1 << 16)  # type: ignore[union-attr]
            except BlockingIOError:
                continue
            if not chunk:
                self.selector.unregister(pipe)
            elif pipe is self.process.stderr:
                self.errors = (self.errors + chunk)[-4096:]
            else:
                self.buffer += chunk
                self.received += len(chunk)
                arrived = True
        return arrived

    def _write(self) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        try:
            self.pending = self.pending[os.write(stdin.fileno(), self.pending[: 1 << 16]) :]
        except (BrokenPipeError, BlockingIOError):
            self.pending = self.pending[:0]
        if not self.pending:
            self.selector.unregister(stdin)
            stdin.close()

    def take(self, end: int) -> bytes:
        line = bytes(self.buffer[:end])
        del self.buffer[: end + 1]
        return line

    def startup_failure(self) -> str:
        message = self.errors.decode(errors="replace").strip().splitlines()
        return STARTUP_FAILED + (f": {message[-1]}" if message else "")


STARTUP_FAILED = "sandbox did not start"


def exchange(
    process: subprocess.Popen[bytes],
    payload: bytes,
    deadline: float,
    limits: SandboxLimits,
    rules: Sequence[ResultLine] = (),
) -> Iterator[Frame]:
    """Write ``payload`` to the script's stdin and yield its result lines (its first line,
    ``{"ready": true}``, excluded), until it ends or breaks a bound: then one Frame with the problem."""
    pipes = _Pipes(process, payload)
    ready, index, since = False, 0, time.monotonic()
    while True:
        rule = rules[index] if ready and index < len(rules) else None
        cap = limits.max_line_bytes if rule is None else rule.max_bytes
        due = deadline if rule is None or rule.within_s is None else min(deadline, since + rule.within_s)
        end = pipes.buffer.find(b"\n")
        if end < 0:
            if len(pipes.buffer) > cap:
                yield Frame(None, f"result line over {cap} bytes")
                return
            if pipes.received > limits.max_output_bytes:
                yield Frame(None, f"output over {limits.max_output_bytes} bytes")
                return
            if pipes.closed:
                yield Frame(None, "ended" if ready else pipes.startup_failure())
                return
            wait = due - time.monotonic()
            if wait > 0:
                pipes.pump(min(wait, 1.0))
            elif not pipes.pump(0):  # late, unless it arrived while the caller was comparing
                yield Frame(None, "timeout")
                return
            continue
        if end > cap:
            yield Frame(None, f"result line over {cap} bytes")
            return
        frame = parse(pipes.take(end))
        if time.monotonic() > deadline:  # the deadline covers parsing too
            yield Frame(None, "timeout")
            return
        if not ready and frame.data is not None and frame.data.get("ready") is True:
            ready, since = True, time.monotonic()
            continue
        index, since = index + 1, time.monotonic()
        yield frame
        if frame.data is None:
            return
