"""The LLM judge: Arena-Hard-Auto v0.1 and v2.0 judging, Bradley-Terry scores, interventions, audit.

The names here are the ones other packages use (the CLI, ``analysis``, ``validate``, benchmarks); the
rest stays in the private modules. Importing this package loads numpy and pydantic only; openai,
tenacity, bpe-openai and transformers load when a call needs them.
"""

from sosbench.judge._answers import default_generation, generate_answers, missing_questions
from sosbench.judge._audit import audit_judges
from sosbench.judge._battles import OVERALL_CRITERION, build_battles, read_judgments
from sosbench.judge._bt import fit_bradley_terry
from sosbench.judge._client import CallStats, ChatCaller, EndpointConfig, LocalHFChat
from sosbench.judge._files import BenchDir, read_answers, read_questions
from sosbench.judge._judging import cost_usd, estimate, load_prices, price_for
from sosbench.judge._metadata import answer_metadata
from sosbench.judge._perturb import load_rewrite_prompts, perturb_answers, perturbed_name
from sosbench.judge._run import (
    JudgeRunResult,
    RunEvent,
    judge_job,
    plan_judgments,
    run_judgments,
    select_questions,
)
from sosbench.judge._scores import (
    Leaderboard,
    ScoreOptions,
    board_json,
    folder_benchmark,
    intervention_losses,
    parse_criteria_option,
    score_categories,
    score_judgments,
)
from sosbench.judge._templates import JudgeTemplate, load_template

__all__ = [
    "OVERALL_CRITERION",
    "BenchDir",
    "CallStats",
    "ChatCaller",
    "EndpointConfig",
    "JudgeRunResult",
    "JudgeTemplate",
    "Leaderboard",
    "LocalHFChat",
    "RunEvent",
    "ScoreOptions",
    "answer_metadata",
    "audit_judges",
    "board_json",
    "build_battles",
    "cost_usd",
    "default_generation",
    "estimate",
    "fit_bradley_terry",
    "folder_benchmark",
    "generate_answers",
    "intervention_losses",
    "judge_job",
    "load_prices",
    "load_rewrite_prompts",
    "load_template",
    "missing_questions",
    "parse_criteria_option",
    "perturb_answers",
    "perturbed_name",
    "plan_judgments",
    "price_for",
    "read_answers",
    "read_judgments",
    "read_questions",
    "run_judgments",
    "score_categories",
    "score_judgments",
    "select_questions",
]
