"""LiveBench (2024-06-24 release, 17 tasks) inside sosbench: questions, native scorers, sandbox, files.

Generation runs through lm-eval (tasks ``livebench_<task>`` in ``sosbench.tasks``); this layer turns
the generated answers into LiveBench's model_answer files and scores them with re-implementations
of LiveBench's 2024-07-24 ground-truth scorers (``protocol="paper"``, defects included) or with the
defects the spec names fixed (``protocol="corrected"``). Heavy libraries load only when needed.
"""

from __future__ import annotations

from sosbench.livebench._answers import (
    ANSWER_DIR,
    SCORES_FILE,
    finalize_run,
    model_answer_record,
    read_model_answers,
    score_answer_files,
    score_rows,
)
from sosbench.livebench._parallel import default_workers, score_many
from sosbench.livebench._punkt import ensure_punkt_tab
from sosbench.livebench._questions import in_release, load_questions, select_questions
from sosbench.livebench._report import average_score, category_scores, groups_csv, task_scores, tasks_csv
from sosbench.livebench._sandbox import SANDBOX_MODES, SandboxLimits, SandboxMode, check_available
from sosbench.livebench._scorers import score_question
from sosbench.livebench._tasks import CATEGORIES, PROTOCOLS, RELEASE, TASK_CATEGORY, category_of

__all__ = [
    "ANSWER_DIR",
    "CATEGORIES",
    "PROTOCOLS",
    "RELEASE",
    "SANDBOX_MODES",
    "SCORES_FILE",
    "TASK_CATEGORY",
    "SandboxLimits",
    "SandboxMode",
    "average_score",
    "category_of",
    "category_scores",
    "check_available",
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
