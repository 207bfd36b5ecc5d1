"""Language scorers (connections, plot_unscrambling, typos), LiveBench 2024-07-24 rules.

Checked against the official scorer's results on ../shared/data/livebench/official-cases/dev.jsonl
(tests/livebench/test_livebench_official_cases.py) and pinned by hand-computed unit tests.
"""

from __future__ import annotations

import difflib
import re


def score_connections(ground_truth: str, answer: str) -> float:
    """Best fraction, over ``**...**`` spans, of true groups of 4 fully inside one predicted group of 4."""
    truth_words = [word.strip().lower() for word in ground_truth.split(",")]
    truth_groups = [truth_words[i : i + 4] for i in range(0, len(truth_words), 4)]
    best = 0.0
    for span in re.findall(r"\*\*(.*?)\*\*", answer):
        words = [word.strip().lower() for word in span.split(",")]
        groups = [words[i : i + 4] for i in range(0, len(words), 4)]
        found = sum(1 for truth in truth_groups if any(all(w in group for w in truth) for group in groups))
        best = max(best, found / len(truth_groups))
    return best


def _edit_distance(left: list[int], right: list[int]) -> int:
    from rapidfuzz.distance import Levenshtein

    return Levenshtein.distance(left, right)


def score_plot_unscrambling(ground_truth: str, answer: str) -> float:
    """1 - edit distance between the true sentence order and the order the answer puts them in."""
    if "<PLOT_SUMMARY>" in answer:
        answer = answer.split("<PLOT_SUMMARY>", 1)[1]
    truth = [sentence.strip() for sentence in ground_truth.split(".") if sentence.strip()]
    predicted = [sentence.strip() for sentence in answer.split(".") if sentence.strip()]
    if not predicted or not truth:
        return 0.0
    order = [
        predicted.index(difflib.get_close_matches(sentence, predicted, n=1, cutoff=0)[0])
        for sentence in truth
    ]
    return 1.0 - _edit_distance(list(range(len(truth))), order) / len(truth)


def score_typos(ground_truth: str, answer: str, *, corrected: bool) -> float:
    """1 iff the ground truth is a substring of the last line that is not the empty string.

    Paper: like LiveBench, a line of only whitespace (" ", tab, NBSP, form feed) still counts as
    the last line, so a trailing blank-looking line scores 0. Corrected: such lines are skipped.
    An answer with no line at all scores 0 (LiveBench raised IndexError).
    """
    lines = [line for line in answer.split("\n") if (line.strip() if corrected else line)]
    return 1.0 if lines and ground_truth in lines[-1] else 0.0
