"""Scoring many answers across CPU cores.

Scorers are CPU-bound Python (sympy, pandas, IFEval) or wait on sandboxed test processes, so a
process pool scales them; each worker keeps its own sympy child process. Workers come from a
``forkserver`` (a parent that already loaded torch/CUDA is never forked) that preloads the heavy
scorer libraries once (``_warm``). Starting workers costs seconds (the preload imports lm-eval's IFEval
module), while most scorers take microseconds per answer: only a job with many slow answers (sandboxed
code, sympy; ``TaskScorer.slow``) goes to the pool, everything else is scored in-process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, NamedTuple

from sosbench.livebench.scorers import Scoring, is_slow, score_answer
from sosbench.sandbox import SandboxUnavailable

Item = tuple[dict[str, Any], str]
MIN_PARALLEL_ITEMS = 32
"""Below this many slow answers a pool costs more than it saves."""


def default_workers() -> int:
    """One worker per usable core."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class Scored(NamedTuple):
    """One answer's score, and why it is 0 when scoring it failed."""

    score: float
    error: str | None = None


def score_one(question: dict[str, Any], answer: str, scoring: Scoring) -> Scored:
    """Score one answer; any failure while doing so (a corrupt test case, a scorer's bug, a MemoryError)
    is that answer's 0 with the reason, and the run goes on. Only a sandbox that cannot start here stops
    it: then every coding answer would be a wrong 0."""
    try:
        return Scored(score_answer(question, answer, scoring))
    except SandboxUnavailable:
        raise
    except Exception as error:  # noqa: BLE001 - one answer's failure is its 0, not the run's end
        return Scored(0.0, f"{type(error).__name__}: {error}"[:500])


def _score_chunk(chunk: list[Item], scoring: Scoring) -> list[Scored]:
    return [score_one(question, answer, scoring) for question, answer in chunk]


def score_many(
    items: Sequence[Item], scoring: Scoring, *, workers: int | None = None, progress: Any = None
) -> list[Scored]:
    """Scores for ``(question, answer)`` pairs, in order. ``progress(n)`` is called as chunks finish."""
    workers = default_workers() if workers is None else max(1, workers)
    if workers == 1 or sum(is_slow(question) for question, _ in items) < MIN_PARALLEL_ITEMS:
        scores = []
        for question, answer in items:
            scores.append(score_one(question, answer, scoring))
            if progress is not None:
                progress(1)
        return scores
    size = max(1, min(16, len(items) // (workers * 4)))
    chunks = [list(items[start : start + size]) for start in range(0, len(items), size)]
    context = _context()
    with ProcessPoolExecutor(max_workers=min(workers, len(chunks)), mp_context=context) as pool:
        futures = [pool.submit(_score_chunk, chunk, scoring) for chunk in chunks]
        scores = []
        for future, chunk in zip(futures, chunks, strict=True):
            scores.extend(future.result())
            if progress is not None:
                progress(len(chunk))
        return scores


def _context() -> multiprocessing.context.BaseContext:
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["sosbench.livebench.workers._warm"])
    return context
