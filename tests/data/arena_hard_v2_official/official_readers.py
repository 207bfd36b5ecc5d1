"""Run Arena-Hard-Auto v2.0's own readers (unmodified, commit 196f6b8) on a bench folder; print JSON.

Runs in a scratch environment with the official requirements, from the root of an official checkout whose
data/arena-hard-v2.0/ holds the files to read (make.py lays it out). Nothing of the official code is
changed: this script imports its modules and calls their functions, with numpy's global RNG seeded from
outside (the official code draws its bootstrap from it unseeded).

    python official_readers.py JUDGE [JUDGE ...]  > official_readers.json
"""

from __future__ import annotations

import contextlib
import io
import json
import sys

import numpy as np
from show_result import (  # the official module, imported from the checkout
    get_model_style_metadata,
    load_judgments,
    print_leaderboard,
    print_leaderboard_with_style_features,
)
from utils.completion import load_model_answers, load_questions

BENCH = "arena-hard-v2.0"
SEED = 42


def printed(function, *args) -> str:
    np.random.seed(SEED)
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(io.StringIO()):
        function(*args)
    return buffer.getvalue()


def main(judges: list[str]) -> None:
    out: dict = {"questions": [q["uid"] for q in load_questions(f"data/{BENCH}/question.jsonl")]}
    answers = load_model_answers(f"data/{BENCH}/model_answer")
    out["answers"] = {
        model: {uid: row["messages"][-1]["content"]["answer"] for uid, row in rows.items()}
        for model, rows in answers.items()
        if model != "o3-mini-2025-01-31"  # the shipped file, read in full: only its metadata is kept
    }
    metadata = get_model_style_metadata(BENCH)
    out["metadata"] = {
        model: {uid: meta for uid, meta in rows.items() if uid in out["questions"]}
        for model, rows in metadata.items()
    }
    out["judges"] = {}
    for judge in judges:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            battles = load_judgments([judge], BENCH)
        entry: dict = {
            "battles": battles.astype({"scores": float}).to_dict(orient="records"),
            "leaderboards": {},
        }
        for category in sorted(battles.category.unique()):
            part = battles[battles.category == category].reset_index(drop=True)
            entry["leaderboards"][category] = {
                "plain": printed(print_leaderboard, part.copy(), category),
                "length markdown": printed(
                    print_leaderboard_with_style_features,
                    part.copy(),
                    BENCH,
                    category,
                    ["length", "markdown"],
                ),
            }
        out["judges"][judge] = entry
    json.dump(out, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
