"""The child processes LiveBench scoring uses: a pool of scoring workers (forkserver, scorer libraries
preloaded) and, in each scoring process, one sympy child that judges AMPS_Hard answers."""

from __future__ import annotations

from sosbench.livebench.workers._pool import MIN_PARALLEL_ITEMS, Scored, default_workers, score_many
from sosbench.livebench.workers._sympy import SympyJudge, equivalent

__all__ = ["MIN_PARALLEL_ITEMS", "Scored", "SympyJudge", "default_workers", "equivalent", "score_many"]
