"""Power and error rates of `sosbench compare`, on synthetic pairs with planted per-item effects.

    python benchmarks/compare_power.py [--repetitions 100] [--items 500]

Prints three rates over seeded repetitions (tests/_synthetic_runs.planted_pair, 6 benchmarks):
* detection: a planted +5-point change on one benchmark of 500 items is called "better" and its
  paired 95% CI covers +5 (target: at least 95 of 100);
* false alarms: with no planted change, any benchmark flagged after Holm adjustment
  (target: at most 5 of 100);
* paired versus unpaired CI width on the positively correlated items (paired must be narrower every time).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _synthetic_runs import planted_pair

from sosbench.analysis import compare_runs
from sosbench.suite import benchmarks

NAMES = tuple(b.name for b in benchmarks() if b.factor == "WK")[:6]


def study(repetitions: int, items: int, rounds: int = 1000, permutations: int = 1000) -> dict[str, int]:
    """Counts over ``repetitions`` seeded pairs (seed = repetition) of each outcome the script reports."""
    found = covered = false_alarms = narrower = 0
    for rep in range(repetitions):
        rng = np.random.default_rng(rep)
        base, cand = planted_pair(rng, NAMES, n=items, planted=NAMES[0], effect_items=items // 20)
        planted = compare_runs(base, cand, rounds=rounds, permutations=permutations, seed=rep).rows[0]
        found += planted.verdict == "better"
        covered += planted.verdict == "better" and planted.ci[0] <= 0.05 <= planted.ci[1]
        base, cand = planted_pair(rng, NAMES, n=items)
        null = compare_runs(base, cand, rounds=rounds, permutations=permutations, seed=rep)
        false_alarms += any(r.verdict in ("better", "worse") for r in null.rows)
        narrower += all((r.ci[1] - r.ci[0]) < (r.ci_unpaired[1] - r.ci_unpaired[0]) for r in null.rows)
    return {
        "repetitions": repetitions,
        "found": found,
        "found_and_covered": covered,
        "false_alarms": false_alarms,
        "paired_narrower": narrower,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=100)
    parser.add_argument("--items", type=int, default=500)
    args = parser.parse_args()
    counts = study(args.repetitions, args.items)
    reps = counts["repetitions"]
    print(
        f"planted +5 points found and CI covers +5: {counts['found_and_covered']}/{reps} "
        f"(found: {counts['found']})"
    )
    print(f"no planted change, any benchmark flagged (Holm): {counts['false_alarms']}/{reps}")
    print(f"paired CI narrower than unpaired on every benchmark: {counts['paired_narrower']}/{reps}")


if __name__ == "__main__":
    main()
