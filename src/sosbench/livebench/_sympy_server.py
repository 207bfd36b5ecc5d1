"""Child process that answers "are these two LaTeX expressions equal?" (run as a script, JSON lines).

Kept free of sosbench imports so it starts fast; the parent (``_sympy.SympyJudge``) enforces the
time limit by killing this process, which works from any thread or worker, unlike SIGALRM.
"""

from __future__ import annotations

import json
import sys


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


def main() -> None:
    """Serve requests ``[gt, pred]`` one per line; answer ``true``/``false``; ``"ready"`` once warmed up."""
    import sympy  # noqa: F401
    from sympy.parsing.latex import parse_latex

    parse_latex("x")  # load the ANTLR grammar before the first timed request
    print(json.dumps("ready"), flush=True)
    for line in sys.stdin:
        ground_truth, prediction = json.loads(line)
        print(json.dumps(equivalent(ground_truth, prediction)), flush=True)


if __name__ == "__main__":
    main()
