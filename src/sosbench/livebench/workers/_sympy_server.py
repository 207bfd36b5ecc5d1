"""Child process that answers "are these two LaTeX expressions equal?" (run as a script, JSON lines).

Kept free of sosbench imports so it starts fast. The 5-s limit is CPU time, enforced here with a
profiling timer in this process's main thread (so it holds on a loaded machine and in parallel
scoring, unlike LiveBench's SIGALRM in a worker thread); the parent kills this process only as a
wall-clock backstop.
"""

from __future__ import annotations

import json
import signal
import sys


class CpuTimeExceeded(BaseException):
    """Raised by the profiling timer; a BaseException so sympy's own ``except Exception`` cannot swallow
    it."""


def _raise_timeout(_signum: int, _frame: object) -> None:
    raise CpuTimeExceeded


def equivalent(ground_truth: str, prediction: str) -> bool:
    """LiveBench 2024 AMPS rule: parse both, equal iff |simplify(gt - pred)| < 0.001; any failure is False."""
    import sympy
    from sympy.parsing.latex import parse_latex

    try:
        difference = parse_latex(ground_truth) - parse_latex(prediction)
        return bool(abs(sympy.simplify(difference)) < 0.001)
    except ImportError:
        raise
    except Exception:  # noqa: BLE001 - the reference scores every parse/simplify failure as wrong
        return False


def bounded_equivalent(ground_truth: str, prediction: str, cpu_s: float) -> bool:
    """``equivalent`` within ``cpu_s`` seconds of CPU time (False when it runs out)."""
    signal.setitimer(signal.ITIMER_PROF, cpu_s)
    try:
        return equivalent(ground_truth, prediction)
    except CpuTimeExceeded:
        return False
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)


def main() -> None:
    """Serve requests ``[gt, pred]`` one per line; answer ``true``/``false``; ``"ready"`` once warmed up."""
    from sympy.parsing.latex import parse_latex

    cpu_s = float(sys.argv[1])
    signal.signal(signal.SIGPROF, _raise_timeout)
    parse_latex("x")  # load the ANTLR grammar before the first timed request
    print(json.dumps("ready"), flush=True)
    for line in sys.stdin:
        ground_truth, prediction = json.loads(line)
        print(json.dumps(bounded_equivalent(ground_truth, prediction, cpu_s)), flush=True)


if __name__ == "__main__":
    main()
