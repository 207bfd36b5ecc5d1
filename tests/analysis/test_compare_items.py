"""The per-item view of `sosbench compare`: LiveBench items show the prompt, both answers and the gold."""

from __future__ import annotations

import json
from pathlib import Path

from _paths import SHARED
from _synthetic_runs import as_multiple_choice, write_judge_bench, write_run_folder

from sosbench.analysis import compare_runs, read_run

QUESTIONS = SHARED / "data" / "livebench" / "questions_web_of_lies_v2.jsonl"


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


def test_the_item_view_is_bounded_but_the_total_is_reported(tmp_path: Path) -> None:
    write_run_folder(tmp_path / "base", "base")
    write_run_folder(tmp_path / "cand", "cand")
    samples = tmp_path / "cand" / "gpqa" / "samples_leaderboard_gpqa_main.jsonl"
    rows = [json.loads(line) for line in samples.read_text().splitlines()]
    for row in rows:
        row["acc_norm"] = 1.0 - row["acc_norm"]
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))

    comparison = compare_runs(
        read_run(tmp_path / "base"), read_run(tmp_path / "cand"), rounds=100, permutations=100, item_limit=3
    )
    assert len(comparison.differing_items) == 3
    assert comparison.differing_total == len(rows)
    assert comparison.to_json()["items_scored_differently"] == len(rows)


def test_compare_items_writes_every_item_as_words_with_the_judge_verdicts(tmp_path: Path) -> None:
    """`compare --items`: one JSONL line per item scored differently, all of them: multiple choice as the
    options chosen, the question after its folded prefix, and the judged questions with their verdicts (a
    win that became a strong win too); the judge row's n counts questions."""
    from typer.testing import CliRunner

    from sosbench.cli import app

    for model in ("base", "cand"):
        write_run_folder(tmp_path / model, model)
    as_multiple_choice(tmp_path / "base" / "gpqa" / "samples_leaderboard_gpqa_main.jsonl")
    made_right = as_multiple_choice(
        tmp_path / "cand" / "gpqa" / "samples_leaderboard_gpqa_main.jsonl", make_right=3
    )
    lost = ["B>A"] * 4
    judge = write_judge_bench(tmp_path / "arena", "j", {"base": lost, "cand": ["A>B", "B>A", "B>>A", "B>A"]})
    items = tmp_path / "items.jsonl"
    args = ["compare", str(tmp_path / "base"), str(tmp_path / "cand"), "--judgments", str(judge)]
    result = CliRunner().invoke(
        app, [*args, "--items", str(items), "--format", "json", "--bootstrap", "200", "--permutations", "200"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)["comparisons"][0]
    lines = [json.loads(line) for line in items.read_text().splitlines()]
    assert len(lines) == data["items_scored_differently"] == 3 + 2
    assert f"wrote 5 items scored differently to {items}" in result.stderr
    judged, chosen = lines[:2], lines[2:]
    assert [i["item"] for i in chosen] == [f"leaderboard_gpqa_main:{d}" for d in made_right]
    for item in chosen:
        assert (item["base_response"], item["candidate_response"], item["gold"]) == (
            "(C) green",
            "(B) blue",
            "(B) blue",
        )
        assert (
            item["prompt"].startswith("Question: Which colour is item ")
            and item["prefix"].count("Answer: (A)") == 2
        )
        assert (item["base_score"], item["candidate_score"], item["base_verdicts"]) == (0.0, 1.0, "")
    assert [(i["item"], i["prompt"]) for i in judged] == [
        ("q0", "Arena question 0: explain topic 0."),
        ("q2", "Arena question 2: explain topic 2."),
    ]
    assert judged[0]["candidate_verdicts"] == (
        "vs gpt-4-0314: game 1 (baseline first) loss (A>B); game 2 (model first) loss (B>A)"
    )
    assert (judged[1]["base_score"], judged[1]["candidate_score"]) == (1.0, 1.0)  # a win, now a strong win
    assert "strong win (B>>A)" in judged[1]["candidate_verdicts"]
    row = next(r for r in data["rows"] if r["kind"] == "judge")
    assert row["n"] == 4  # questions judged for both, not weighted battles
