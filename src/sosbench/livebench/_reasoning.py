"""Reasoning scorers (web_of_lies_v2, zebra_puzzle), LiveBench 2024-07-24 rules."""

from __future__ import annotations

import re

_NUMBER_WORDS = {"1": "one", "2": "two", "3": "three", "4": "four", "5": "five", "6": "six", "7": "seven",
                 "8": "eight", "9": "nine"}  # fmt: skip


def score_web_of_lies(ground_truth: str, answer: str) -> float:
    """The last ``**...**`` span equals the answer, or contains it with exactly three yes/no."""
    spans = re.findall(r"\*\*(.*?)\*\*", answer)
    if not spans:
        return 0.0
    parsed = spans[-1].lower()
    if parsed == ground_truth:
        return 1.0
    if ground_truth in parsed and parsed.count("yes") + parsed.count("no") == 3:
        return 1.0
    return 0.0


def score_zebra(ground_truth: str, answer: str, *, corrected: bool) -> float:
    """The last ``***word***`` (else the last word) matches, allowing digit words and "<x> movies".

    Corrected protocol: the bold span may hold several words joined by spaces, "-" or "&", so
    ground truths like "security-guard" can be matched.
    """
    word = r"[\w&-]+(?: [\w&-]+)*" if corrected else r"\w+"
    bold = re.findall(rf"\*\*\*({word})\*\*\*", answer)
    if bold:
        return 1.0 if _zebra_match(bold[-1].lower(), ground_truth) else 0.0
    words = re.findall(r"\b\w+\b", answer)
    return 1.0 if words and _zebra_match(words[-1].lower(), ground_truth) else 0.0


def _zebra_match(parsed: str, ground_truth: str) -> bool:
    return (
        parsed == ground_truth
        or _NUMBER_WORDS.get(parsed) == ground_truth
        or _NUMBER_WORDS.get(ground_truth) == parsed
        or parsed + " movies" == ground_truth
    )
