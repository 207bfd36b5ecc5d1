"""Reasoning scorers (web_of_lies_v2, zebra_puzzle), LiveBench 2024-07-24 rules."""

from __future__ import annotations

import re

_NUMBER_WORDS = {
    "1": "one",
    "2": "two",
    "3": "three",
    "4": "four",
    "5": "five",
    "6": "six",
    "7": "seven",
    "8": "eight",
    "9": "nine",
}


def score_web_of_lies(ground_truth: str, answer: str) -> float:
    """The last ``**...**`` span equals the answer, or contains it with exactly three yes/no."""
    spans = re.findall(r"\*\*(.*?)\*\*", answer)
    if not spans:
        return 0.0
    parsed, truth = spans[-1].lower(), ground_truth.lower()
    if parsed == truth:
        return 1.0
    if truth in parsed and parsed.count("yes") + parsed.count("no") == 3:
        return 1.0
    return 0.0


def score_zebra(ground_truth: str, answer: str, *, corrected: bool) -> float:
    """The last ``***word***`` (else the last word) matches, case-insensitively, allowing "<x> movies".

    Paper: a digit answer matches its number word ("3" for "three"), not the other way round, as in
    LiveBench 2024. Corrected: the bold span may hold several words joined by spaces, "-" or "&"
    (ground truths like "security-guard"), and a number word also matches a digit ground truth.
    """
    word = r"[\w&-]+(?: [\w&-]+)*" if corrected else r"\w+"
    bold = re.findall(rf"\*\*\*({word})\*\*\*", answer)
    if bold:
        return 1.0 if _zebra_match(bold[-1], ground_truth, corrected=corrected) else 0.0
    words = re.findall(r"\b\w+\b", answer)
    return 1.0 if words and _zebra_match(words[-1], ground_truth, corrected=corrected) else 0.0


def _zebra_match(parsed: str, ground_truth: str, *, corrected: bool) -> bool:
    candidate, truth = parsed.lower(), ground_truth.lower()
    return (
        candidate == truth
        or candidate + " movies" == truth
        or _NUMBER_WORDS.get(parsed) == truth
        or (corrected and _NUMBER_WORDS.get(truth) == candidate)
    )
