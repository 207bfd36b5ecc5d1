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
from typing import Any

from sosbench.livebench.scorers import Scoring, is_slow, score_answer

Item = tuple[dict[str, Any], str]
MIN_PARALLEL_ITEMS = 32
"""Below this many slow answers a pool costs more than it saves."""


def default_workers() -> int:
    """One worker per usable core."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _score_chunk(chunk: list[Item], scoring: Scoring) -> list[float]:
    return [score_answer(question, answer, scoring) for question, answer in chunk]


def score_many(
    items: Sequence[Item], scoring: Scoring, *, workers: int | None = None, progress: Any = None
) -> list[float]:
    """Scores for ``(question, answer)`` pairs, in order. ``progress(n)`` is called as chunks finish."""
    workers = default_workers() if workers is None else max(1, workers)
    if workers == 1 or sum(is_slow(question) for question, _ in items) < MIN_PARALLEL_ITEMS:
        scores = []
        for question, answer in items:
            scores.append(score_answer(question, answer, scoring))
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
