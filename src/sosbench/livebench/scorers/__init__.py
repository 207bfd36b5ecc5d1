"""LiveBench's scorers, one per task, behind one registry (``scorers()``; plugins add tasks through the
``sosbench.livebench_scorers`` entry-point group). Each is a pure function of the question, the answer
and a ``Scoring`` context; coding answers run in ``sosbench.sandbox``."""

from __future__ import annotations

from sosbench.livebench.scorers._registry import (
    ENTRY_POINT_GROUP,
    Scorer,
    Scoring,
    TaskScorer,
    is_slow,
    score_answer,
    scorers,
)

__all__ = ["ENTRY_POINT_GROUP", "Scorer", "Scoring", "TaskScorer", "is_slow", "score_answer", "scorers"]
