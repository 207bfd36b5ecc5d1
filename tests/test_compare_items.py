"""The per-item view of `sosbench compare`: LiveBench items show the prompt, both answers and the gold."""

from __future__ import annotations

import json
from pathlib import Path

from _synthetic_runs import write_run_folder

from sosbench.analysis import compare_runs, read_run

QUESTIONS = Path(__file__).resolve().parents[2] / "shared/data/livebench/questions_web_of_lies_v2.jsonl"


def _livebench_reasoning(
    folder: Path, questions: list[dict], answers: list[str], scores: list[float]
) -> None:
    """A livebench-reasoning folder as `sosbench run` leaves it: lm-eval's samples logs and the score rows."""
    bench = folder / "livebench-reasoning"
    with (bench / "samples_livebench_web_of_lies_v2.jsonl").open("w") as handle:
        for number, (question, answer) in enumerate(zip(questions, answers, strict=True)):
            row = {"doc_id": number, "doc": question, "resps": [[answer]], "filtered_resps": [answer]}
            handle.write(json.dumps(row) + "\n")
    kept = [
        json.loads(line)
        for line in (bench / "livebench_scores.jsonl").read_text().splitlines()
        if json.loads(line)["task"] != "web_of_lies_v2"
    ]
    rows = [
        {"question_id": q["question_id"], "task": "web_of_lies_v2", "category": "reasoning", "score": s}
        for q, s in zip(questions, scores, strict=True)
    ]
    (bench / "livebench_scores.jsonl").write_text("".join(json.dumps(r) + "\n" for r in kept + rows))


def test_livebench_items_that_differ_carry_prompt_answers_and_gold(tmp_path: Path) -> None:
    questions = [json.loads(line) for line in QUESTIONS.read_text().splitlines()[:4]]
    for model in ("base", "cand"):
        write_run_folder(tmp_path / model, model)
    _livebench_reasoning(tmp_path / "base", questions, ["**no, no, no**"] * 4, [0.0, 1.0, 0.0, 1.0])
    _livebench_reasoning(tmp_path / "cand", questions, ["**yes, yes, yes**"] * 4, [1.0, 1.0, 0.0, 1.0])

    comparison = compare_runs(
        read_run(tmp_path / "base"), read_run(tmp_path / "cand"), rounds=200, permutations=200
    )
    livebench = [item for item in comparison.differing_items if item["benchmark"] == "livebench-reasoning"]
    real = [item for item in livebench if item["item"] == questions[0]["question_id"]]
    assert len(real) == 1, livebench
    item = real[0]
    assert item["prompt"] == questions[0]["turns"][0]
    assert item["gold"] == questions[0]["ground_truth"]
    assert (item["base_response"], item["candidate_response"]) == ("**no, no, no**", "**yes, yes, yes**")
    assert (item["base_score"], item["candidate_score"]) == (0.0, 1.0)


def test_the_item_view_is_bounded_but_the_total_is_reported(tmp_path: Path, monkeypatch) -> None:
    from sosbench.analysis import _paired

    write_run_folder(tmp_path / "base", "base")
    write_run_folder(tmp_path / "cand", "cand")
    samples = tmp_path / "cand" / "gpqa" / "samples_leaderboard_gpqa_main.jsonl"
    rows = [json.loads(line) for line in samples.read_text().splitlines()]
    for row in rows:
        row["acc_norm"] = 1.0 - row["acc_norm"]
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))

    monkeypatch.setattr(_paired, "ITEM_VIEW_LIMIT", 3)
    comparison = compare_runs(
        read_run(tmp_path / "base"), read_run(tmp_path / "cand"), rounds=100, permutations=100
    )
    assert len(comparison.differing_items) == 3
    assert comparison.differing_total == len(rows)
    assert comparison.to_json()["items_scored_differently"] == len(rows)
