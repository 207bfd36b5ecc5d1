"""The LLM judge: Arena-Hard-Auto v0.1 and v2.0 judging, Bradley-Terry scores, interventions, audit.

The names here are the ones other packages use (the CLI, ``analysis``, ``validate``, benchmarks); the
rest stays in the private modules. Importing this package loads numpy and pydantic only; openai,
tenacity, bpe-openai and transformers load when a call needs them.
"""

from sosbench.judge._answers import default_generation, generate_answers, missing_questions
from sosbench.judge._battles import OVERALL_CRITERION, Battles, build_battles, read_judgments
from sosbench.judge._bt import fit_bradley_terry
from sosbench.judge._client import CallStats, ChatCaller, EndpointConfig, LocalHFChat, check_reachable
from sosbench.judge._estimators import (
    ESTIMATORS,
    STYLE_FEATURES,
    Estimate,
    StyleUnits,
    apply_estimator,
    optimum_coefficients,
    parse_control,
)
from sosbench.judge._files import Answer, BenchDir, read_answers, read_questions
from sosbench.judge._judging import cost_usd, estimate, load_prices, price_for
from sosbench.judge._metadata import answer_metadata
from sosbench.judge._official import (
    estimator_boards,
    estimator_frame,
    estimator_json,
    estimator_losses,
    style_units,
)
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
    ALL_CRITERIA,
    DEFAULT_BASELINE,
    PERTURBED_SEPARATOR,
    CategoryGames,
    Leaderboard,
    ScoreOptions,
    board_json,
    category_games,
    folder_benchmark,
    intervention_losses,
    losses_of,
    pair_games,
    parse_criteria_option,
    read_judge_name,
    score_categories,
    score_group,
    score_judgments,
)
from sosbench.judge._scripted import (
    SCRIPTED_JUDGE,
    ScriptedJudgeServer,
    answer_words,
    judgment_text,
    length_verdict,
)
from sosbench.judge._templates import JudgeTemplate, load_template

__all__ = [
    "ALL_CRITERIA",
    "DEFAULT_BASELINE",
    "ESTIMATORS",
    "OVERALL_CRITERION",
    "PERTURBED_SEPARATOR",
    "SCRIPTED_JUDGE",
    "STYLE_FEATURES",
    "Answer",
    "Battles",
    "BenchDir",
    "CallStats",
    "CategoryGames",
    "ChatCaller",
    "EndpointConfig",
    "Estimate",
    "JudgeRunResult",
    "JudgeTemplate",
    "Leaderboard",
    "LocalHFChat",
    "RunEvent",
    "ScoreOptions",
    "ScriptedJudgeServer",
    "StyleUnits",
    "answer_metadata",
    "answer_words",
    "apply_estimator",
    "board_json",
    "build_battles",
    "category_games",
    "check_reachable",
    "cost_usd",
    "default_generation",
    "estimate",
    "estimator_boards",
    "estimator_frame",
    "estimator_json",
    "estimator_losses",
    "fit_bradley_terry",
    "folder_benchmark",
    "generate_answers",
    "intervention_losses",
    "judge_job",
    "judgment_text",
    "length_verdict",
    "load_prices",
    "load_rewrite_prompts",
    "load_template",
    "losses_of",
    "missing_questions",
    "optimum_coefficients",
    "pair_games",
    "parse_control",
    "parse_criteria_option",
    "perturb_answers",
    "perturbed_name",
    "plan_judgments",
    "price_for",
    "read_answers",
    "read_judge_name",
    "read_judgments",
    "read_questions",
    "run_judgments",
    "score_categories",
    "score_group",
    "score_judgments",
    "select_questions",
    "style_units",
]
