"""Symbolic equivalence with a time limit that also works in threads and pool workers.

LiveBench bounded sympy with SIGALRM, which only works in the main thread (its parallel mode scored
every AMPS item 0). Here a long-lived child process does the sympy work: it stops a comparison after
5 s of CPU time itself (see ``_sympy_server``), and the parent kills and restarts it if a reply takes
far longer than that in wall-clock time (a comparison stuck where no signal is handled).
"""

from __future__ import annotations

import atexit
import json
import select
import subprocess
import sys
import threading
from pathlib import Path

from sosbench.errors import SosbenchError

SYMPY_TIMEOUT_S = 5.0
"""LiveBench's limit per comparison (parse + subtract + simplify), here in CPU seconds."""
_WALL_BACKSTOP_S = 120.0
_STARTUP_TIMEOUT_S = 120.0
_SERVER = Path(__file__).with_name("_sympy_server.py")


class SympyJudge:
    """One sympy child process, restarted after a timeout; thread-safe (one request at a time)."""

    def __init__(self, cpu_s: float = SYMPY_TIMEOUT_S, wall_s: float = _WALL_BACKSTOP_S) -> None:
        self.cpu_s = cpu_s
        self.wall_s = wall_s
        self._process: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()

    def equivalent(self, ground_truth: str, prediction: str) -> bool:
        """True iff sympy finds the two LaTeX strings equal within the CPU-time limit."""
        with self._lock:
            process = self._ensure_started()
            assert process.stdin is not None and process.stdout is not None
            process.stdin.write(json.dumps([ground_truth, prediction]) + "\n")
            process.stdin.flush()
            reply = self._read_line(process, self.wall_s)
            if reply is None:
                self._stop()
                return False
            return bool(json.loads(reply))

    def close(self) -> None:
        """Stop the child process."""
        with self._lock:
            self._stop()

    def _ensure_started(self) -> subprocess.Popen[str]:
        if self._process is not None and self._process.poll() is None:
            return self._process
        process = subprocess.Popen(
            [sys.executable, "-I", str(_SERVER), str(self.cpu_s)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
        )
        self._process = process
        if self._read_line(process, _STARTUP_TIMEOUT_S) != json.dumps("ready"):
            self._stop()
            raise SosbenchError(
                "cannot start sympy for AMPS_Hard scoring: run `pip install 'sosbench[livebench]'` "
                "(needs sympy and antlr4-python3-runtime==4.11)"
            )
        return process

    @staticmethod
    def _read_line(process: subprocess.Popen[str], timeout_s: float) -> str | None:
        """One reply line, or None on timeout or if the child died."""
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], timeout_s)
        if not ready:
            return None
        line = process.stdout.readline()
        return line.strip() or None

    def _stop(self) -> None:
        if self._process is None:
            return
        self._process.kill()
        self._process.wait()
        for stream in (self._process.stdin, self._process.stdout):
            if stream is not None:
                stream.close()
        self._process = None


_shared: SympyJudge | None = None
_shared_lock = threading.Lock()


def shared_judge() -> SympyJudge:
    """The judge of this process (one sympy child per scoring process)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = SympyJudge()
            atexit.register(_shared.close)
        return _shared


def equivalent(ground_truth: str, prediction: str) -> bool:
    """``Scoring.equivalent`` for AMPS_Hard: this process's sympy child decides (a function, so it pickles
    by name into pool workers, each of which then starts its own child)."""
    return shared_judge().equivalent(ground_truth, prediction)
