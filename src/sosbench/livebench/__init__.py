"""LiveBench (2024-06-24 release, 17 tasks) inside sosbench: questions, native scorers, files.

Generation runs through lm-eval (tasks ``livebench_<task>`` in ``sosbench.tasks``); this layer turns
the generated answers into LiveBench's model_answer files and scores them with re-implementations
of LiveBench's 2024-07-24 ground-truth scorers (``protocol="paper"``, defects included) or with the
defects the spec names fixed (``protocol="corrected"``). Heavy libraries load only when needed.

Rooms: ``data`` (release, questions, answers, roll-up), ``scorers`` (one per task, a registry),
``workers`` (the scoring pool and the sympy child process), and ``_score`` where they meet. Coding
answers run in ``sosbench.sandbox``.
"""

from __future__ import annotations

from sosbench.livebench._score import (
    finalize_run,
    score_answer_files,
    score_many,
    score_question,
    score_rows,
)
from sosbench.livebench.data import (
    ANSWER_DIR,
    CATEGORIES,
    PROTOCOLS,
    RELEASE,
    SCORES_FILE,
    TASK_CATEGORY,
    average_score,
    category_of,
    category_scores,
    groups_csv,
    in_release,
    load_questions,
    model_answer_record,
    read_model_answers,
    select_questions,
    task_scores,
    tasks_csv,
)
from sosbench.livebench.scorers._punkt import ensure_punkt_tab
from sosbench.livebench.workers import default_workers

__all__ = [
    "ANSWER_DIR",
    "CATEGORIES",
    "PROTOCOLS",
    "RELEASE",
    "SCORES_FILE",
    "TASK_CATEGORY",
    "average_score",
    "category_of",
    "category_scores",
    "default_workers",
    "ensure_punkt_tab",
    "finalize_run",
    "groups_csv",
    "in_release",
    "load_questions",
    "model_answer_record",
    "read_model_answers",
    "score_answer_files",
    "score_many",
    "score_question",
    "score_rows",
    "select_questions",
    "task_scores",
    "tasks_csv",
]
