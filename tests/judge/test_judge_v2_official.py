"""sosbench's Arena-Hard-Auto v2.0 files read by the official code, and the official files read by sosbench.

tests/data/arena_hard_v2_official/ holds a bench folder that sosbench's CLI wrote (answers with metadata,
judgments by ``sos-judge``), one judgment file the official ``gen_judgment.py`` wrote (``official-judge``),
and ``official.json``: what the unmodified official code (lmarena/arena-hard-auto 196f6b8, run in a
scratch environment by ``make.py`` there, its RNG seeded from outside) did with them. Each test compares
sosbench's reading of the same files with the official one; the last checks that sosbench still writes
the layout those files have.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from _fake_endpoint import ScriptedServer, cli, endpoint, make_v2_bench
from _paths import TEST_DATA

from sosbench.judge import BenchDir, read_answers
from sosbench.judge._battles import build_battles, read_judgments
from sosbench.judge._benchmarks import get_benchmark
from sosbench.judge._templates import data_file

DATA = TEST_DATA / "arena_hard_v2_official"
BENCH = DATA / "bench"
OFFICIAL = json.loads((DATA / "official.json").read_text())
READERS = OFFICIAL["readers"]
V2 = get_benchmark("arena-hard-v2.0")
JUDGES = ("sos-judge", "official-judge")


def sosbench_battles(judge: str) -> dict[str, list[tuple[str, str, float]]]:
    """Per model, its battles as sosbench builds them: (uid, category, score), in order."""
    games = read_judgments(BENCH / "model_judgment" / judge)
    out: dict[str, list[tuple[str, str, float]]] = {}
    for category in dict.fromkeys(g.category for g in games):
        part = [g for g in games if g.category == category]
        battles = build_battles(part, "overall", V2.category(category).baseline, per_question=True)
        for index, outcome, row in zip(battles.model, battles.outcome, battles.game_row, strict=True):
            model = battles.models[index]
            out.setdefault(model, []).append((part[row].uid, category, float(outcome)))
    return out


def official_battles(judge: str) -> dict[str, list[tuple[str, str, float]]]:
    out: dict[str, list[tuple[str, str, float]]] = {}
    for row in READERS["judges"][judge]["battles"]:
        out.setdefault(row["model"], []).append((row["uid"], row["category"], float(row["scores"])))
    return out


def test_official_gen_judgment_counts_every_sosbench_judgment_as_done() -> None:
    run = OFFICIAL["gen_judgment"]["sos-judge"]
    questions = len(READERS["questions"])
    assert run["requests"] == 0
    assert run["stdout"].count(f"{questions} number of existing judgments") == 3  # alpha, beta, long


@pytest.mark.parametrize("judge", JUDGES)
def test_battles_equal_the_official_readers(judge: str) -> None:
    """sos-judge: sosbench's files read by show_result.py; official-judge: official files read by sosbench."""
    ours, theirs = sosbench_battles(judge), official_battles(judge)
    assert set(ours) == set(theirs) and ours
    for model in theirs:
        by_category = {c: [b for b in theirs[model] if b[1] == c] for c in {b[1] for b in theirs[model]}}
        assert {c: [b for b in ours[model] if b[1] == c] for c in by_category} == by_category


def test_some_sosbench_games_without_verdict_are_dropped_by_both() -> None:
    games = read_judgments(BENCH / "model_judgment" / "sos-judge")
    unreadable = {(g.model, g.uid) for g in games if g.record.get("score") is None}
    assert unreadable  # the fake judge's garbage fault
    official = {(b["model"], b["uid"]) for b in READERS["judges"]["sos-judge"]["battles"]}
    assert not unreadable & official


def test_answers_and_metadata_equal_the_official_readers() -> None:
    for model, texts in READERS["answers"].items():
        ours = read_answers(BENCH / "model_answer" / f"{model}.jsonl")
        assert {uid: a.text for uid, a in ours.items()} == texts
    for model, rows in READERS["metadata"].items():
        path = BenchDir.open(BENCH).answer_file(model)
        ours = {uid: a.metadata for uid, a in read_answers(path).items() if uid in rows}
        assert ours == rows


@pytest.mark.parametrize("judge", JUDGES)
def test_scores_equal_the_official_battle_means(judge: str) -> None:
    """`judge score` on a v2.0 folder is v2.0's show_result.py without flags: the mean of 100 bootstrap
    means, equal to the official print (``--rounds 0``: the battle mean itself)."""
    folder = str(BENCH / "model_judgment" / judge)
    default = json.loads(cli("judge", "score", "--judgments", folder, "--format", "json").stdout)
    exact = json.loads(
        cli("judge", "score", "--judgments", folder, "--format", "json", "--rounds", "0").stdout
    )
    theirs = official_battles(judge)
    for category, entry in default["categories"].items():
        board = entry["criteria"]["overall"]
        assert board["estimator"] == "arena-hard-v2.0" and board["point"] == "mean of bootstrap means"
        means = exact["categories"][category]["criteria"]["overall"]
        assert means["point"] == "mean outcome"
        for model, values in board["models"].items():
            if model == V2.category(category).baseline:
                continue
            scores = [b[2] for b in theirs[model] if b[1] == category]
            assert means["models"][model]["score"] == pytest.approx(100 * sum(scores) / len(scores), abs=0.01)
            printed = READERS["judges"][judge]["leaderboards"][category]["plain"]
            official = float(re.search(rf"{model}\s+([\d.]+)", printed).group(1))
            # the official run drew from numpy's global RNG seeded 42, and so does --seed 42 here: the same
            # resamples, so the same number up to the official print's one decimal
            assert abs(official - values["score"]) <= 0.05 + 1e-9, (category, model)


def test_official_style_control_read_sosbench_metadata() -> None:
    for category, boards in READERS["judges"]["sos-judge"]["leaderboards"].items():
        text = boards["length markdown"]
        assert f"Category: {category}" in text and "alpha" in text and "beta" in text
        assert "Feature Coefs: tensor([" in text


def _shape(value: object) -> object:
    """Keys and nesting of a JSON value (not its contents)."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items() if k not in ("usage", "truncated")}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__ if value is not None else "NoneType"


def test_sosbench_still_writes_the_layout_the_official_code_read(tmp_path: Path) -> None:
    bench = make_v2_bench(tmp_path / "arena-hard-v2.0", hard=1, creative=0, gemini=False)
    with ScriptedServer(faults=False) as server:
        assert cli("judge", "answer", "--model", "alpha", "-d", str(bench), *endpoint(server)).exit_code == 0
        run = cli(
            "judge", "run", "--judge", "sos-judge", "--models", "alpha", "-d", str(bench), *endpoint(server)
        )
        assert run.exit_code == 0, run.output
    now_answer = json.loads((bench / "model_answer" / "alpha.jsonl").read_text().split("\n")[:-1][0])
    stored_answer = json.loads((BENCH / "model_answer" / "alpha.jsonl").read_text().split("\n")[:-1][0])
    assert _shape(now_answer) == _shape(stored_answer)
    now_line = json.loads(
        (bench / "model_judgment" / "sos-judge" / "alpha.jsonl").read_text().split("\n")[:-1][0]
    )
    stored = [
        json.loads(x)
        for x in (BENCH / "model_judgment" / "sos-judge" / "alpha.jsonl").read_text().split("\n")[:-1]
    ]
    assert _shape(now_line) in [_shape(line) for line in stored]
    key = json.loads((bench / "model_judgment" / "sos-judge" / "sosbench-judge.json").read_text())
    assert key == json.loads((BENCH / "model_judgment" / "sos-judge" / "sosbench-judge.json").read_text())
    assert data_file("arena_hard_v2", "question.jsonl").is_file()
