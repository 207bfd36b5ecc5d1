"""One formula for `score` and `compare` (scoring/_formula.py): the same numbers whichever command asks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _synthetic_runs import perturb_run, write_run_folder

from sosbench.analysis import compare_runs, read_run
from sosbench.scoring import FACTOR_NAMES, NORMALIZATIONS, aggregate, factor_members, score_paths

PARTIAL = ("gpqa", "ifeval", "livebench-math", "xstest")


@pytest.mark.parametrize("normalize", NORMALIZATIONS)
@pytest.mark.parametrize("skip", [(), PARTIAL], ids=["complete", "partial"])
def test_compare_difference_is_the_difference_of_the_two_scores(
    tmp_path: Path, normalize: str, skip: tuple[str, ...]
) -> None:
    """On every benchmark, factor and Overall, to 1e-12: compare's base, candidate and difference are what
    `score` gives each run (partial factors included, under --allow-partial)."""
    base, cand = tmp_path / "base", tmp_path / "cand"
    write_run_folder(base, "base", skip=skip)
    write_run_folder(cand, "cand", skip=skip)
    perturb_run(cand, seed=1)
    partial = bool(skip)
    scored = score_paths([base, cand], normalize=normalize, allow_partial=partial, bootstrap=0).models
    by_model = {m.model: m for m in scored}
    comparison = compare_runs(
        read_run(base),
        read_run(cand),
        rounds=100,
        permutations=100,
        normalize=normalize,
        allow_partial=partial,
    )
    rows = {r.name: r for r in comparison.rows}
    assert set(rows) == set(by_model["base"].benchmarks) | set(FACTOR_NAMES)
    assert sum(r.diff != 0 for r in rows.values()) > len(rows) // 2  # the perturbation moves most rows
    for name, row in rows.items():
        values = []
        for model in ("base", "cand"):
            scores = by_model[model]
            entry = scores.benchmarks.get(name) or scores.factors[name]
            values.append(entry.score)
        assert row.base == pytest.approx(values[0], abs=1e-12), name
        assert row.candidate == pytest.approx(values[1], abs=1e-12), name
        assert row.diff == pytest.approx(values[1] - values[0], abs=1e-12), name
        if name in FACTOR_NAMES:
            assert row.partial == by_model["base"].factors[name].partial
    assert rows["WK"].partial == ("8 of 10 benchmarks" if partial else None)  # gpqa and livebench-math
    assert rows["IF"].partial == ("1 of 2 benchmarks" if partial else None)


def test_the_partial_rule() -> None:
    """A factor missing a benchmark is not computed unless partial factors are allowed; Overall follows."""
    wk = factor_members("WK")
    values = {name: np.asarray(0.5) for name in wk[1:]}
    strict = aggregate(values, allow_partial=False)
    assert strict["WK"].value is None and strict["WK"].missing == (wk[0],)
    assert strict["Overall"].value is None and strict["Overall"].missing == ("WK", "IF", "Safety")
    rounds = {name: np.asarray([0.2, 0.8]) for name in wk[1:]}
    loose = aggregate(rounds, allow_partial=True)
    assert loose["WK"].partial_text("benchmarks") == f"{len(wk) - 1} of {len(wk)} benchmarks"
    assert np.allclose(loose["WK"].value, [0.2, 0.8])  # elementwise over rounds
    assert (
        loose["Overall"].members == ("WK",) and loose["Overall"].partial_text("factors") == "1 of 3 factors"
    )
