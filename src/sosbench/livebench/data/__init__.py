"""LiveBench's data: the release (date, categories, tasks, protocols), questions, model answers, and the
roll-up of per-question scores into task, category and average scores and the artifact CSVs."""

from __future__ import annotations

from sosbench.livebench.data._answers import (
    ANSWER_DIR,
    SCORES_FILE,
    model_answer_record,
    model_file_name,
    read_model_answers,
    sample_answer,
)
from sosbench.livebench.data._questions import (
    LiveBenchQuestion,
    in_release,
    load_questions,
    question_rows,
    select_questions,
)
from sosbench.livebench.data._release import (
    CATEGORIES,
    PROTOCOLS,
    RELEASE,
    TASK_CATEGORY,
    category_of,
    check_protocol,
)
from sosbench.livebench.data._rollup import average_score, category_scores, groups_csv, task_scores, tasks_csv

__all__ = [
    "ANSWER_DIR",
    "CATEGORIES",
    "PROTOCOLS",
    "RELEASE",
    "SCORES_FILE",
    "TASK_CATEGORY",
    "LiveBenchQuestion",
    "average_score",
    "category_of",
    "category_scores",
    "check_protocol",
    "groups_csv",
    "in_release",
    "load_questions",
    "model_answer_record",
    "model_file_name",
    "question_rows",
    "read_model_answers",
    "sample_answer",
    "select_questions",
    "task_scores",
    "tasks_csv",
]
