"""Data-analysis scorers (cta, tablejoin, tablereformat), LiveBench 2024-07-24 rules."""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable
from io import StringIO
from typing import Any


def score_cta(ground_truth: str, answer: str) -> float:
    """Exact match after lower-casing, stripping and removing non-word characters."""
    return 1.0 if _word_chars(ground_truth) == _word_chars(answer) else 0.0


def _word_chars(text: str) -> str:
    return re.sub(r"[^\w]", "", text.lower().strip())


def score_tablejoin(ground_truth: str, answer: str) -> float:
    """F1 of the predicted column mapping (a dict literal, optionally in a python fence), 2 decimals."""
    text = answer.replace("\n", "")
    fenced = re.search(r"```python(.*)```", text)
    if fenced:
        text = fenced.group(1)
    try:
        predicted = ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return 0.0
    if not isinstance(predicted, dict) or not predicted:
        return 0.0
    truth = ast.literal_eval(ground_truth)
    tp = fp = fn = 0
    for key, value in predicted.items():
        expected = truth.get(key)
        if not expected:
            fp += 1
        elif expected == value:
            tp += 1
        else:
            fp += 1
            fn += 1
    fn += sum(1 for key in truth if not predicted.get(key))
    return round(2 * tp / (2 * tp + fp + fn), 2)


def table_formats(question: str) -> tuple[str, str]:
    """Input and output formats from "Please convert the Input Table from X format to Y format"."""
    tail = question.split("Please convert the Input Table from ")[1]
    return tail.split(" format")[0].lower(), tail.split("format to ")[1].split(" format")[0].lower()


def read_table(kind: str, text: str) -> Any:
    """A DataFrame from text in one of LiveBench's table formats (json tries several orients)."""
    import pandas as pd

    if kind == "json":
        for kwargs in (
            {"orient": "index"},
            {"orient": "records"},
            {"orient": "records", "lines": True},
            {"orient": "table"},
        ):
            try:
                return pd.read_json(StringIO(text), encoding="utf-8", **kwargs)
            except Exception:  # noqa: BLE001 - the reference tries the next orient on any failure
                continue
        return pd.read_json(StringIO(text), orient="values", encoding="utf-8")
    if kind == "jsonl":
        return pd.read_json(StringIO(text), orient="records", lines=True, encoding="utf-8")
    if kind == "html":
        return pd.concat(pd.read_html(StringIO(text), encoding="utf-8"), axis=0)
    if kind == "csv":
        return pd.read_csv(StringIO(text), encoding="utf-8")
    if kind == "tsv":
        return pd.read_csv(StringIO(text), sep="\t", encoding="utf-8")
    if kind == "markdown":
        return pd.read_table(StringIO(text), sep="|", header=0, index_col=1, skipinitialspace=True)
    raise ValueError(f"unknown table format {kind!r}")


def _strip_fences(answer: str) -> str:
    """Drop a first line that starts with a code fence (only at the very start), then every fence."""
    if answer.startswith("```"):
        answer = answer.split("\n", 1)[1] if "\n" in answer else ""
    return answer.replace("```", "").strip()


def _strip_leading_phrase(text: str) -> str:
    return re.sub(r"^\s*(here|input)\b.*?\b(format|table)\s*[:)]\s*", "", text, flags=re.IGNORECASE).strip()


def _same_table(predicted: Any, truth: Any, *, nan_equal: bool) -> bool:
    predicted.columns = [str(name).lower().strip() for name in predicted.columns]
    truth.columns = [str(name).lower().strip() for name in truth.columns]
    if len(predicted) != len(truth) or sorted(predicted.columns) != sorted(truth.columns):
        return False
    for column in truth.columns:
        left, right = (
            sorted(predicted[column].tolist(), key=_sort_key(nan_equal)),
            sorted(truth[column].tolist(), key=_sort_key(nan_equal)),
        )
        if nan_equal:
            left, right = [_nan_token(v) for v in left], [_nan_token(v) for v in right]
        if left != right:
            return False
    return True


def _sort_key(nan_equal: bool) -> Callable[[Any], tuple[bool, Any]] | None:
    return (lambda v: (_is_nan(v), v if not _is_nan(v) else 0)) if nan_equal else None


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _nan_token(value: Any) -> Any:
    return "\x00nan" if _is_nan(value) else value


def score_tablereformat(question: str, ground_truth: str, answer: str, *, corrected: bool) -> float:
    """1 iff the answer parses in the requested format to the same table (row order free).

    Corrected protocol: missing values compare equal (the reference's NaN != NaN makes 7/50 tables
    unwinnable).
    """
    _, output_format = table_formats(question)
    truth_text = ground_truth
    for candidate in (_strip_fences(answer), _strip_leading_phrase(_strip_fences(answer))):
        try:
            if _same_table(
                read_table(output_format, candidate),
                read_table(output_format, truth_text),
                nan_equal=corrected,
            ):
                return 1.0
        except Exception:  # noqa: BLE001 - any parse or comparison failure scores 0, as in the reference
            continue
    return 0.0
