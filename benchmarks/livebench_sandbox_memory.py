"""Peak memory of the LiveBench scorer with one hostile coding answer among honest ones, as a ratio.

Usage: python benchmarks/livebench_sandbox_memory.py [--honest N] [--kinds a,b,...]

Issue 21's goal: one hostile answer among 100 honest ones costs the scorer at most 1.5x the memory it
needs without it. Each configuration is scored in its own child process (one scoring process,
``workers=1``, so the figure is that process's own peak RSS, ``ru_maxrss``; the sandboxes are other
processes with their own budget): N honest answers alone (the baseline), then N honest answers plus one
answer of each hostile kind. Prints each peak, its ratio to the baseline and the scores (honest answers
must score 1, the hostile one 0). Before the fix, a 64 MiB result of short lines grew the scorer to
5.6 GiB.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from typing import Any

HOSTILE = {
    "short_lines_64mib": "print('1\\n' * 22_000_000)",  # one 64 MiB result line of short lines
    "short_lines_within_cap": "print('1\\n' * 650_000)",  # just under the per-test line bound
    "unclosed_quotes": (
        "import posix\nfor fd in range(3, 64):\n    try:\n"
        "        posix.write(fd, b'{\"ok\": true, \"out\": \"' + b'\\\\\"' * 1_000_000 + b'\\n')\n"
        "    except OSError:\n        pass"
    ),
    "deep_nesting": (
        "import posix\nfor fd in range(3, 64):\n    try:\n"
        "        posix.write(fd, b'[' * 2_000_000 + b'\\n')\n    except OSError:\n        pass"
    ),
    "many_lists_call": "class Solution:\n    def f(self, x):\n        return [[]] * 16_000",  # < 64 KiB
}


def call_question() -> dict[str, Any]:
    cases = [{"input": "1", "output": "[1]", "testtype": "functional"}]
    return {
        "question_id": "call",
        "task": "LCB_generation",
        "turns": ["Return [x]."],
        "public_test_cases": json.dumps(cases),
        "private_test_cases": "[]",
        "original_json": {"metadata": json.dumps({"func_name": "f"})},
    }


def measure(honest: int, kind: str) -> dict[str, Any]:
    """In the child: score the answers in this process and report its own peak RSS."""
    from livebench_scoring_throughput import coding_items

    from sosbench.livebench import score_many

    items = coding_items(honest)  # a stdin problem with 4 tests, correct answers
    if kind:
        question, answer = coding_items(1, code=HOSTILE[kind])[0]
        if kind.endswith("_call"):
            question = call_question()
        items.insert(honest // 2, (question, answer))
    start = time.perf_counter()
    scores = score_many(items, workers=1)
    return {
        "seconds": time.perf_counter() - start,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "honest_ok": sum(score == 1.0 for score in scores) == honest,
        "hostile_score": scores[honest // 2] if kind else None,
    }


def run_child(honest: int, kind: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--measure", kind or "-", "--honest", str(honest)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"measuring {kind or 'the baseline'} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--honest", type=int, default=100, help="honest answers around the hostile one")
    parser.add_argument("--kinds", default=",".join(HOSTILE), help="comma-separated hostile kinds")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.honest, "" if args.measure == "-" else args.measure)))
        return
    baseline = run_child(args.honest, "")
    alone = f"peak {baseline['peak_mib']:.1f} MiB, {baseline['seconds']:.1f} s"
    print(f"{args.honest} honest answers alone: {alone}")
    worst = 0.0
    for kind in filter(None, args.kinds.split(",")):
        result = run_child(args.honest, kind)
        ratio = result["peak_mib"] / baseline["peak_mib"]
        worst = max(worst, ratio)
        print(
            f"+ 1 {kind:24s} peak {result['peak_mib']:7.1f} MiB  ratio {ratio:5.2f}  "
            f"hostile scored {result['hostile_score']}  honest all 1: {result['honest_ok']}  "
            f"{result['seconds']:.1f} s"
        )
    print(f"worst ratio {worst:.2f} (goal: at most 1.5)")


if __name__ == "__main__":
    main()
