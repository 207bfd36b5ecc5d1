"""Scoring answers: one answer, many (across worker processes), answer files, and a run's LiveBench folder.

This is where the rooms meet: ``data`` (questions, answers, roll-up) gives the items, ``workers`` the
processes (the scoring pool, the sympy judge), ``scorers`` the rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sosbench._io import iter_jsonl, write_jsonl_atomic
from sosbench.errors import SosbenchError
from sosbench.livebench import workers as pool
from sosbench.livebench.data._answers import (
    ANSWER_DIR,
    SCORES_FILE,
    model_answer_record,
    model_file_name,
    read_model_answers,
    sample_answer,
)
from sosbench.livebench.data._questions import LiveBenchQuestion, load_questions
from sosbench.livebench.data._release import CATEGORIES, RELEASE, category_of, check_protocol
from sosbench.livebench.data._rollup import task_scores
from sosbench.livebench.scorers import Scoring, score_answer
from sosbench.rundir import samples_name
from sosbench.sandbox import DEFAULT_LIMITS, SandboxLimits, SandboxMode, check_available

Item = tuple[dict[str, Any], str]


def scoring_for(
    protocol: str = "paper", sandbox: str = "bwrap", limits: SandboxLimits = DEFAULT_LIMITS
) -> Scoring:
    """The scoring context of a protocol and sandbox (one error line for an unknown name)."""
    return Scoring(
        corrected=check_protocol(protocol) == "corrected",
        sandbox=SandboxMode.of(sandbox),
        limits=limits,
        equivalent=pool.equivalent,
    )


def score_question(
    question: dict[str, Any], answer: str, *, protocol: str = "paper", sandbox: str = "bwrap"
) -> float:
    """Score one answer to one question, in [0, 1]; ``sandbox`` is where coding answers run."""
    return score_answer(question, answer, scoring_for(protocol, sandbox))


def score_many(
    items: Sequence[Item],
    *,
    protocol: str = "paper",
    workers: int | None = None,
    progress: Any = None,
    sandbox: str = "bwrap",
    limits: SandboxLimits = DEFAULT_LIMITS,
) -> list[float]:
    """Scores for ``(question, answer)`` pairs, in order (an answer whose scoring failed scores 0: see
    ``score_rows`` for the reasons). ``progress(n)`` is called as answers finish."""
    scoring = scoring_for(protocol, sandbox, limits)
    return [scored.score for scored in pool.score_many(items, scoring, workers=workers, progress=progress)]


def score_rows(
    questions: list[LiveBenchQuestion],
    answers: list[dict[str, Any]],
    *,
    protocol: str = "paper",
    workers: int | None = None,
    progress: Any = None,
    sandbox: str = "bwrap",
    limits: SandboxLimits = DEFAULT_LIMITS,
) -> list[dict[str, Any]]:
    """One row per answer to a known question: {question_id, task, category, score, model_id}. Coding rows
    also say how the sandbox budget held (``sandbox_budget``: cgroup or rlimit) and, with
    ``sandbox="none"``, ``"sandbox": "none"`` (unsafe, flagged in every output); a row whose scoring failed
    scores 0 and says why (``error``)."""
    scoring = scoring_for(protocol, sandbox, limits)
    by_id = {question["question_id"]: question for question in questions}
    matched = [(by_id[a["question_id"]], a) for a in answers if a["question_id"] in by_id]
    if answers and not matched:
        raise SosbenchError("no answer matches a question of the release: check --questions and --answers")
    coding = CATEGORIES["coding"]
    budget = check_available(scoring.sandbox) if any(q["task"] in coding for q, _ in matched) else None
    scores = pool.score_many(
        [(q, a["_text"]) for q, a in matched], scoring, workers=workers, progress=progress
    )
    rows = []
    for (question, answer), scored in zip(matched, scores, strict=True):
        row = {
            "question_id": question["question_id"],
            "task": question["task"],
            "category": category_of(question["task"]),
            "score": scored.score,
            "model_id": answer["model_id"],
        }
        if question["task"] in coding:
            row["sandbox_budget"] = budget
            if scoring.sandbox == SandboxMode.NONE:
                row["sandbox"] = SandboxMode.NONE.value
        if scored.error is not None:
            row["error"] = scored.error
        rows.append(row)
    return sorted(rows, key=lambda r: (r["model_id"], r["task"], r["question_id"]))


def score_answer_files(
    questions: str | Path,
    answers: Path,
    *,
    protocol: str = "paper",
    workers: int | None = None,
    release: str = RELEASE,
    progress: Any = None,
    sandbox: str = "bwrap",
    limits: SandboxLimits = DEFAULT_LIMITS,
    problems: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Score existing model_answer files against questions (a question.jsonl, folder, mirror or hub id);
    with a ``problems`` list, question rows that cannot be questions are reported there and skipped."""
    return score_rows(
        load_questions(questions, release=release, problems=problems),
        read_model_answers(Path(answers)),
        protocol=protocol,
        workers=workers,
        progress=progress,
        sandbox=sandbox,
        limits=limits,
    )


def finalize_run(
    benchmark_dir: Path,
    category: str,
    model_id: str,
    *,
    protocol: str = "paper",
    workers: int | None = None,
    sandbox: str = "bwrap",
    limits: SandboxLimits = DEFAULT_LIMITS,
) -> dict[str, float]:
    """Turn lm-eval's LiveBench sample logs into model_answer + livebench_scores.jsonl; return task -> score
    x 100.

    Reads ``samples_livebench_<task>.jsonl`` for every task of ``category`` in ``benchmark_dir``.
    """
    if category not in CATEGORIES:
        raise SosbenchError(f"unknown LiveBench category {category!r}: use one of {', '.join(CATEGORIES)}")
    benchmark_dir = Path(benchmark_dir)
    questions: list[LiveBenchQuestion] = []
    answers: list[dict[str, Any]] = []
    for task in CATEGORIES[category]:
        path = benchmark_dir / samples_name(f"livebench_{task}")
        if not path.is_file():
            raise SosbenchError(
                f"{path} is missing: the lm-eval run of livebench_{category} did not finish; rerun it"
            )
        for number, sample in iter_jsonl(path, "lm-eval sample log"):
            where = f"{path}:{number}"
            question = sample.get("doc")
            if not isinstance(question, dict) or "question_id" not in question:
                raise SosbenchError(
                    f"{where}: no doc with a question_id: not an lm-eval LiveBench sample log"
                )
            text = sample_answer(sample, where)
            questions.append(question)
            answers.append({**model_answer_record(question["question_id"], model_id, text), "_text": text})
    write_jsonl_atomic(
        benchmark_dir / ANSWER_DIR / f"{model_file_name(model_id)}.jsonl",
        ({k: v for k, v in a.items() if k != "_text"} for a in answers),
    )
    rows = score_rows(questions, answers, protocol=protocol, workers=workers, sandbox=sandbox, limits=limits)
    write_jsonl_atomic(benchmark_dir / SCORES_FILE, rows)
    return task_scores(rows).get(model_id, {})
