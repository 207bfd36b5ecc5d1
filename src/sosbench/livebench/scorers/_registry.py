"""The LiveBench scorers, one registry entry per task, and the per-question dispatch.

``scorers()`` is a ``Registry[Scorer]``: the 17 built-in tasks, then any scorer a plugin package adds
through the ``sosbench.livebench_scorers`` entry-point group (the entry point's name is the task, its
object a ``TaskScorer``). A task of a new release therefore needs one registration, not an edit of an
if-chain. Math keeps LiveBench's 2024 dispatch inside its tasks: the subtask if present, else the task.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sosbench._registry import Registry, load_entry_points, suggest
from sosbench.errors import SosbenchError
from sosbench.livebench.scorers import _data_analysis as data_analysis
from sosbench.livebench.scorers import _language as language
from sosbench.livebench.scorers import _math as math
from sosbench.livebench.scorers import _reasoning as reasoning
from sosbench.sandbox import DEFAULT_LIMITS, SandboxLimits, SandboxMode

ENTRY_POINT_GROUP = "sosbench.livebench_scorers"


@dataclass(frozen=True)
class Scoring:
    """How one answer is scored: the protocol's defect fixes, where coding answers run, and the symbolic
    judge AMPS_Hard needs (a child process the caller owns: ``livebench.workers``)."""

    corrected: bool
    sandbox: SandboxMode = SandboxMode.BWRAP
    limits: SandboxLimits = DEFAULT_LIMITS
    """Each coding answer's sandbox budget (memory, processes, ...)."""
    equivalent: Callable[[str, str], bool] | None = None
    """True iff two LaTeX answers are symbolically equal (within LiveBench's time limit)."""


Scorer = Callable[[dict[str, Any], str, Scoring], float]
"""``scorer(question, answer, scoring)`` -> a score in [0, 1]."""


@dataclass(frozen=True)
class TaskScorer:
    """A task's scorer; ``slow``: it runs for a noticeable time per answer (sandboxed code, sympy), so
    many such answers are worth a process pool (``score_many``); every other scorer takes microseconds."""

    score: Scorer
    slow: bool = False


def _math(question: dict[str, Any], answer: str, scoring: Scoring) -> float:
    """AMPS_Hard, math_comp and olympiad, dispatched on the subtask as LiveBench does."""
    kind = question.get("subtask") or question["task"]
    truth: Any = question.get("ground_truth")
    prefix = kind.split("_")[0]
    if prefix in ("amc", "smc"):
        return math.score_amc(truth, answer, question["turns"][0])
    if prefix == "aime":
        return math.score_aime(truth, answer)
    if kind in ("imo", "usamo", "olympiad"):
        return math.score_olympiad(truth, answer)
    if "amps_hard" in kind or kind == "AMPS_Hard":
        if scoring.equivalent is None:
            raise SosbenchError("AMPS_Hard needs a symbolic judge: pass Scoring(equivalent=...)")
        return math.score_amps_hard(truth, answer, corrected=scoring.corrected, equivalent=scoring.equivalent)
    raise SosbenchError(
        f"question {question.get('question_id')}: {kind} needs its subtask (amc_*, smc, aime_*) "
        "to pick a scorer"
    )


def _instruction_following(question: dict[str, Any], answer: str, scoring: Scoring) -> float:
    from sosbench.livebench.scorers._instruction_following import score_instruction_following

    return score_instruction_following(question, answer)


def _coding(question: dict[str, Any], answer: str, scoring: Scoring) -> float:
    from sosbench.livebench.scorers._coding import score_coding

    return score_coding(
        question, answer, corrected=scoring.corrected, limits=scoring.limits, sandbox=scoring.sandbox
    )


def _builtin() -> dict[str, TaskScorer]:
    def truth(q: dict[str, Any]) -> Any:
        return q.get("ground_truth")

    fast: dict[str, Scorer] = {
        "cta": lambda q, a, s: data_analysis.score_cta(truth(q), a),
        "tablejoin": lambda q, a, s: data_analysis.score_tablejoin(truth(q), a),
        "tablereformat": lambda q, a, s: data_analysis.score_tablereformat(
            q["turns"][0], truth(q), a, corrected=s.corrected
        ),
        "paraphrase": _instruction_following,
        "simplify": _instruction_following,
        "story_generation": _instruction_following,
        "summarize": _instruction_following,
        "connections": lambda q, a, s: language.score_connections(truth(q), a),
        "plot_unscrambling": lambda q, a, s: language.score_plot_unscrambling(truth(q), a),
        "typos": lambda q, a, s: language.score_typos(truth(q), a, corrected=s.corrected),
        "math_comp": _math,
        "olympiad": _math,
        "web_of_lies_v2": lambda q, a, s: reasoning.score_web_of_lies(truth(q), a),
        "zebra_puzzle": lambda q, a, s: reasoning.score_zebra(truth(q), a, corrected=s.corrected),
    }
    slow: dict[str, Scorer] = {"LCB_generation": _coding, "coding_completion": _coding, "AMPS_Hard": _math}
    return {task: TaskScorer(scorer) for task, scorer in fast.items()} | {
        task: TaskScorer(scorer, slow=True) for task, scorer in slow.items()
    }


@functools.cache
def scorers() -> Registry[TaskScorer]:
    """Task -> scorer: the built-in tasks, then plugins' (``sosbench.livebench_scorers`` entry points,
    each naming a ``TaskScorer``)."""
    registry: Registry[TaskScorer] = Registry("LiveBench scorer")
    for task, scorer in _builtin().items():
        registry.register(task, scorer)
    return load_entry_points(registry, ENTRY_POINT_GROUP)


def is_slow(question: dict[str, Any]) -> bool:
    """Whether scoring an answer to ``question`` takes long enough to be worth a worker process."""
    registry = scorers()
    return question.get("task") in registry and registry.get(question["task"]).slow


def score_answer(question: dict[str, Any], answer: str, scoring: Scoring) -> float:
    """Score one answer to one question, in [0, 1], with its task's scorer."""
    task = question["task"]
    registry = scorers()
    if task not in registry:
        close = suggest(task, registry.names())
        hint = f"did you mean {', '.join(close)}?" if close else "register one (sosbench.livebench.scorers)"
        raise SosbenchError(f"question {question.get('question_id')}: no scorer for task {task!r}: {hint}")
    return registry.get(task).score(question, answer, scoring)
