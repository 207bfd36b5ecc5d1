"""The LLM judge: Arena-Hard-Auto v0.1 judging with the SOS templates, Bradley-Terry scores, interventions, audit.

Importing this package loads numpy only; openai, tenacity and transformers load when a call needs them.
"""

from sosbench.judge._answers import (
    GenerationSettings,
    default_generation,
    generate_answers,
    missing_questions,
)
from sosbench.judge._audit import audit_judges
from sosbench.judge._battles import OVERALL, Battles, Judgment, build_battles, read_judgments
from sosbench.judge._bt import BTFit, fit_bradley_terry
from sosbench.judge._client import (
    ChatCaller,
    Completion,
    EndpointConfig,
    LocalHFChat,
    endpoint_error,
    make_async_client,
)
from sosbench.judge._files import (
    PACKAGED_MODELS,
    Answer,
    BenchDir,
    Question,
    read_answers,
    read_questions,
    safe_name,
)
from sosbench.judge._judging import (
    DryRunEstimate,
    JudgeJob,
    RunTotals,
    cost_usd,
    estimate,
    judge_game,
    judgment_summary,
    load_prices,
    model_files,
    plan,
    price_for,
    run_games,
)
from sosbench.judge._parsing import VERDICTS, ParsedVerdict, normalize_verdict, parse_criteria, parse_verdict
from sosbench.judge._perturb import (
    PerturbResult,
    RewritePrompt,
    load_rewrite_prompts,
    perturb_answers,
    perturbed_name,
)
from sosbench.judge._scores import (
    ALL_CRITERIA,
    CriterionResult,
    InterventionLoss,
    Leaderboard,
    ScoreOptions,
    intervention_losses,
    parse_criteria_option,
    score_judgments,
)
from sosbench.judge._style import FEATURES, battle_features, style_counts
from sosbench.judge._templates import BUILTIN_TEMPLATES, CRITERIA, JudgeTemplate, load_template

__all__ = [
    "ALL_CRITERIA",
    "BUILTIN_TEMPLATES",
    "CRITERIA",
    "FEATURES",
    "OVERALL",
    "PACKAGED_MODELS",
    "VERDICTS",
    "Answer",
    "BTFit",
    "Battles",
    "BenchDir",
    "ChatCaller",
    "Completion",
    "CriterionResult",
    "DryRunEstimate",
    "EndpointConfig",
    "GenerationSettings",
    "InterventionLoss",
    "JudgeJob",
    "JudgeTemplate",
    "Judgment",
    "Leaderboard",
    "LocalHFChat",
    "ParsedVerdict",
    "PerturbResult",
    "Question",
    "RewritePrompt",
    "RunTotals",
    "ScoreOptions",
    "audit_judges",
    "battle_features",
    "build_battles",
    "cost_usd",
    "default_generation",
    "endpoint_error",
    "estimate",
    "fit_bradley_terry",
    "generate_answers",
    "intervention_losses",
    "judge_game",
    "judgment_summary",
    "load_prices",
    "load_rewrite_prompts",
    "load_template",
    "make_async_client",
    "missing_questions",
    "model_files",
    "normalize_verdict",
    "parse_criteria",
    "parse_criteria_option",
    "parse_verdict",
    "perturb_answers",
    "perturbed_name",
    "plan",
    "price_for",
    "read_answers",
    "read_judgments",
    "read_questions",
    "run_games",
    "safe_name",
    "score_judgments",
    "style_counts",
]
