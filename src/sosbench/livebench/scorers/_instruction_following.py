"""Instruction-following scorer: lm-eval's IFEval strict checkers, LiveBench's per-question formula."""

from __future__ import annotations

import ast
from typing import Any

from sosbench.livebench.scorers._punkt import ensure_punkt_tab


def _as_list(value: Any) -> list[Any]:
    """Hub rows hold lists; some question.jsonl exports hold their Python repr as a string."""
    if isinstance(value, str):
        return list(ast.literal_eval(value))
    return list(value)


def followed_instructions(question: dict[str, Any], answer: str) -> list[bool]:
    """Per-instruction strict results, as LiveBench computed them with Google's IFEval checkers."""
    ensure_punkt_tab()
    from lm_eval.tasks.ifeval.utils import InputExample, test_instruction_following_strict

    example = InputExample(
        key=0,
        instruction_id_list=_as_list(question["instruction_id_list"]),
        prompt=question["turns"][0],
        kwargs=[dict(kwargs) for kwargs in _as_list(question["kwargs"])],
    )
    return list(test_instruction_following_strict(example, answer).follow_instruction_list)


def score_instruction_following(question: dict[str, Any], answer: str) -> float:
    """0.5 x [all instructions followed] + 0.5 x (fraction followed)."""
    followed = followed_instructions(question, answer)
    if not followed:
        return 0.0
    return 0.5 * float(all(followed)) + 0.5 * sum(followed) / len(followed)
