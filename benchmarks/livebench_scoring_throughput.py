"""LiveBench scorer throughput: answers per second, serial vs parallel, on the real answers in ../shared.

Usage: python benchmarks/livebench_scoring_throughput.py [--workers N] [--tasks cta,AMPS_Hard,...] [--repeat K]
                                                          [--coding M]

Scores every dev answer of ../shared/data/livebench (06-24 and offrelease; 12 tasks) once with one
process (the baseline, as LiveBench's own judge runs) and once with N processes, checks that both
give identical scores, and prints answers/s and the speed-up ratio. The fixtures hold no coding
question; ``--coding M`` adds M answers to a small stdin problem with 4 test cases (one sandboxed
process per test case), the workload that dominates a real LiveBench scoring run.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from sosbench.livebench import default_workers, score_many

SHARED = (
    Path(os.environ.get("SOSBENCH_SHARED", Path(__file__).resolve().parents[2] / "shared"))
    / "data"
    / "livebench"
)


def load_items(tasks: set[str] | None) -> list[tuple[dict, str]]:
    items = []
    for folder in (SHARED, SHARED / "offrelease"):
        for answers in sorted(folder.glob("dev_answers_*.jsonl")):
            task = answers.stem.removeprefix("dev_answers_")
            if tasks and task not in tasks:
                continue
            questions = {}
            for line in (folder / f"questions_{task}.jsonl").read_text(encoding="utf-8").splitlines():
                question = json.loads(line)
                questions[question["question_id"]] = question
            for line in answers.read_text(encoding="utf-8").splitlines():
                row = json.loads(line)
                items.append((questions[row["question_id"]], row["model_output"]))
    return items


def coding_items(count: int) -> list[tuple[dict, str]]:
    """A LiveCodeBench-format stdin problem (4 tests) and a correct fenced answer, ``count`` times."""
    tests = [
        {"input": f"{a} {b}\n", "output": f"{a + b}\n", "testtype": "stdin"}
        for a, b in ((1, 2), (3, 4), (-5, 5), (10, 20))
    ]
    question = {"question_id": "add", "task": "LCB_generation", "turns": ["Add two integers."],
                "public_test_cases": json.dumps(tests[:1]), "private_test_cases": json.dumps(tests[1:]),
                "original_json": {"metadata": "{}"}}  # fmt: skip
    answer = "```python\na, b = map(int, input().split())\nprint(a + b)\n```"
    return [(question, answer)] * count


def timed(items: list[tuple[dict, str]], workers: int) -> tuple[float, list[float]]:
    start = time.perf_counter()
    scores = score_many(items, workers=workers)
    return time.perf_counter() - start, scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument(
        "--tasks",
        default="",
        help="comma-separated task names (default: all with fixtures; none: only --coding)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="score the answer set this many times")
    parser.add_argument("--coding", type=int, default=0, help="add this many sandboxed coding answers")
    args = parser.parse_args()
    tasks = set(filter(None, args.tasks.split(",")))
    items = (load_items(tasks) if tasks != {"none"} else []) * args.repeat + coding_items(args.coding)
    serial_s, serial = timed(items, 1)
    parallel_s, parallel = timed(items, args.workers)
    if serial != parallel:
        raise SystemExit("parallel and serial scores differ")
    print(f"answers: {len(items)}")
    print(f"serial   (1 process):   {serial_s:7.2f} s  {len(items) / serial_s:8.1f} answers/s")
    print(
        f"parallel ({args.workers} processes): {parallel_s:7.2f} s  {len(items) / parallel_s:8.1f} answers/s"
    )
    print(f"speed-up: {serial_s / parallel_s:.2f}x")


if __name__ == "__main__":
    main()
