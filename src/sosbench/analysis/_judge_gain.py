"""The judge-only gain: the paper's finding in one test, shared by `paper`, `compare` and the report.

A change (SFT -> preference optimisation, or base -> candidate) is a **judge-only gain** when the judge's
95% CI of the difference lies above 0 while none of the factors (WK, IF, Safety) measured for the pair has
its 95% CI above 0: the judge sees a gain that the ground-truth benchmarks do not. At least one factor must
be measured, so a pair with no factor at all is never flagged. The CIs are whatever the pair has (paired
bootstraps in `compare`, analytic CIs of independent aggregates in `paper`); Overall is not a factor here.
"""

from __future__ import annotations

from collections.abc import Mapping

from sosbench.suite import FACTORS

DEFINITION = (
    "judge-only gain: the judge's 95% CI of the difference is above 0 while no measured factor's "
    "(WK, IF, Safety) 95% CI is above 0"
)


def judge_only_gain(
    judge_ci: tuple[float, float] | None, factor_cis: Mapping[str, tuple[float, float] | None]
) -> bool:
    """Whether a pair shows a judge-only gain (module docstring); ``factor_cis`` may hold Overall too."""
    if judge_ci is None or judge_ci[0] <= 0:
        return False
    measured = [ci for factor in FACTORS if (ci := factor_cis.get(factor)) is not None]
    return bool(measured) and not any(ci[0] > 0 for ci in measured)
