"""Per-question dispatch to the 17 task scorers (LiveBench 2024 dispatch: subtask if present, else task)."""

from __future__ import annotations

from typing import Any

from sosbench.errors import SosbenchError
from sosbench.livebench import _data_analysis as data_analysis
from sosbench.livebench import _language as language
from sosbench.livebench import _math as math
from sosbench.livebench import _reasoning as reasoning
from sosbench.livebench._sandbox import SandboxMode
from sosbench.livebench._tasks import check_protocol


def score_question(question: dict[str, Any], answer: str, *, protocol: str = "paper",
                   sandbox: SandboxMode = "bwrap") -> float:  # fmt: skip
    """Score one answer to one question, in [0, 1]; ``sandbox`` is where coding answers run."""
    corrected = check_protocol(protocol) == "corrected"
    task = question["task"]
    kind = question.get("subtask") or task
    truth = question.get("ground_truth")
    text = question["turns"][0]
    prefix = kind.split("_")[0]
    if prefix in ("amc", "smc"):
        return math.score_amc(truth, answer, text)
    if prefix == "aime":
        return math.score_aime(truth, answer)
    if kind in ("imo", "usamo", "olympiad"):
        return math.score_olympiad(truth, answer)
    if "amps_hard" in kind or kind == "AMPS_Hard":
        from sosbench.livebench._sympy import shared_judge

        return math.score_amps_hard(truth, answer, corrected=corrected, equivalent=shared_judge().equivalent)
    if task in ("paraphrase", "simplify", "story_generation", "summarize"):
        from sosbench.livebench._instruction_following import score_instruction_following

        return score_instruction_following(question, answer)
    if task in ("LCB_generation", "coding_completion"):
        from sosbench.livebench._coding import score_coding

        return score_coding(question, answer, corrected=corrected, sandbox=sandbox)
    simple = {
        "cta": lambda: data_analysis.score_cta(truth, answer),
        "tablejoin": lambda: data_analysis.score_tablejoin(truth, answer),
        "tablereformat": lambda: data_analysis.score_tablereformat(text, truth, answer, corrected=corrected),
        "web_of_lies_v2": lambda: reasoning.score_web_of_lies(truth, answer),
        "zebra_puzzle": lambda: reasoning.score_zebra(truth, answer, corrected=corrected),
        "connections": lambda: language.score_connections(truth, answer),
        "plot_unscrambling": lambda: language.score_plot_unscrambling(truth, answer),
        "typos": lambda: language.score_typos(truth, answer, corrected=corrected),
    }
    if kind == "math_comp":
        raise SosbenchError(
            f"question {question.get('question_id')}: math_comp needs its subtask (amc_*, smc, aime_*) to pick a scorer"
        )
    if task not in simple:
        raise SosbenchError(f"question {question.get('question_id')}: no scorer for task {task!r}")
    return simple[task]()
