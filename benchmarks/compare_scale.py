"""Time and peak memory of `sosbench compare` at the paper's scale: every benchmark at its full size.

    python benchmarks/compare_scale.py [--rounds 2000] [--permutations 5000]

Builds one in-memory pair per benchmark with the item count the suite registers for it (152K items in
all; BBQ alone 58K) through tests/_synthetic_runs.planted_pair (no planted change), runs the default
comparison and prints seconds, peak resident memory and whether any row was flagged (it should not be).
Reading the samples logs from disk comes on top; compare the time with `sosbench run`'s hours.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _synthetic_runs import planted_pair

from sosbench.analysis import compare_runs
from sosbench.results import ModelResults
from sosbench.suite import benchmarks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--permutations", type=int, default=5000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    base, candidate = ModelResults("base", protocol="paper"), ModelResults("candidate", protocol="paper")
    for bench in benchmarks():
        pair = planted_pair(rng, (bench.name,), n=int(bench.size or 500))
        base.benchmarks.update(pair[0].benchmarks)
        candidate.benchmarks.update(pair[1].benchmarks)
    items = sum(len(b.components[0].items) for b in base.benchmarks.values())
    start = time.perf_counter()
    comparison = compare_runs(base, candidate, rounds=args.rounds, permutations=args.permutations)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    flagged = [r.name for r in comparison.rows if r.verdict != "no detectable change"]
    print(f"{len(base.benchmarks)} benchmarks, {items} items: {seconds:.1f} s, peak RSS {peak_mb:.0f} MB")
    print(f"rows flagged without a planted change: {flagged or 'none'}")


if __name__ == "__main__":
    main()
