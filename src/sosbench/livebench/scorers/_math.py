"""Math scorers (AMPS_Hard, math_comp AMC/SMC/AIME, olympiad), LiveBench 2024-07-24 rules."""

from __future__ import annotations

import re
from collections.abc import Callable

from sosbench.livebench.scorers._latex import last_boxed, normalize_final_answer, unbox

Equivalence = Callable[[str, str], bool]

_NO_OPTION_VALUE = "\x00no option value\x00"
"""Stands for an AMC option value that cannot be read from the question: never occurs in an answer."""


def score_amps_hard(
    ground_truth: str | list[str], answer: str, *, corrected: bool, equivalent: Equivalence
) -> float:
    r"""1 iff the last ``\boxed{}`` of the answer, normalised, is sympy-equal to the ground truth.

    Corrected protocol: indexed roots survive normalisation and ``\ `` spacing (which ``parse_latex``
    rejects) is removed from both sides.
    """
    if isinstance(ground_truth, list):
        ground_truth = ground_truth[-1]
    answer = answer.replace("+C", "").replace("+ C", "")
    boxed = last_boxed(answer)
    content = unbox(boxed) if boxed is not None else None
    if content is None:
        return 0.0
    prediction = normalize_final_answer(content, keep_indexed_roots=corrected)
    if corrected:
        ground_truth, prediction = ground_truth.replace("\\ ", " "), prediction.replace("\\ ", " ")
    return 1.0 if equivalent(ground_truth, prediction) else 0.0


def amc_option_value(question: str, letter: str) -> str:
    r"""The value printed after ``\textbf{(X) }`` in the question's choice list, or a never-matching
    sentinel."""
    choices = re.findall(r"\\textbf{\(([A-E])\)\s?}(.*?)(?:\\qquad|\$)", question)
    value = {key: text.strip() for key, text in choices}.get(letter) or _NO_OPTION_VALUE
    return value.strip().strip("$").strip("~")


def score_amc(ground_truth: str, answer: str, question: str) -> float:
    """AMC/SMC: the letter 4 times, or the last boxed content equal to it, or the option value near the
    end."""
    if not (len(ground_truth) == 1 and "A" <= ground_truth <= "E"):
        raise ValueError(f"AMC ground truth must be one letter A-E, got {ground_truth!r}")
    if ground_truth * 4 in answer:
        return 1.0
    boxed = last_boxed(answer)
    if boxed is not None and unbox(boxed) == ground_truth:
        return 1.0
    value = amc_option_value(question, ground_truth)
    return 1.0 if value in answer[-(20 + len(value)) :] else 0.0


def score_aime(ground_truth: str, answer: str) -> float:
    """AIME: the 3-digit ground truth within the last 20 characters."""
    return 1.0 if ground_truth in answer[-20:] else 0.0


def olympiad_ids(answer: str) -> list[int]:
    """The expression ids after the last "Answer", LiveBench 2024 parsing.

    Reading stops after the first comma-separated piece, other than the very first piece, that has
    characters around its number (that number is kept).
    """
    position = answer.rfind("Answer")
    if position >= 0:
        answer = answer[position + len("Answer") :]
    ids: list[int] = []
    for index, piece in enumerate(answer.split(",")):
        piece = piece.strip()
        match = re.search(r"\d+", piece)
        if match is None:
            continue
        ids.append(int(match.group()))
        noisy = match.start() > 0 or match.end() < len(piece)
        if noisy and index > 0:
            break
    return ids


def score_olympiad(ground_truth: str, answer: str) -> float:
    """1 - edit distance between predicted and true id lists / the longer length."""
    from rapidfuzz.distance import Levenshtein

    predicted = olympiad_ids(answer)
    truth = [int(item) for item in ground_truth.split(",")]
    if not predicted:
        return 0.0
    return 1.0 - Levenshtein.distance(predicted, truth) / max(len(predicted), len(truth))
