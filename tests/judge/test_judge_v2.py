"""Arena-Hard-Auto v2.0 as a judge benchmark: shipped data, answer metadata, verdicts, battles, the CLI.

The data and prompts are checked byte for byte against ../shared/data (the official files); the answer
metadata against the official metadata of the 750 o3-mini answers; the verdict rule and the battle rules
against the official code's behaviour (its gen_judgment.py get_score, its show_result.py load_judgments).
The CLI runs against the loopback fake judge (tests/_fake_endpoint.py) with its planted length preference.
"""

from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from _fake_endpoint import (
    JUDGE,
    MODELS,
    V2_BASE,
    ScriptedServer,
    cli,
    endpoint,
    error_line,
    make_v2_bench,
)
from conftest import SHARED

from sosbench.judge import BenchDir, answer_metadata, load_template, read_answers
from sosbench.judge._battles import Judgment, build_battles, read_judgments
from sosbench.judge._benchmarks import detect_benchmark, get_benchmark
from sosbench.judge._parsing import parse_last_verdict
from sosbench.judge._templates import data_file

V2_DATA = SHARED / "data" / "arena-hard-v2.0"
V2_PROTOCOL = SHARED / "data" / "protocol" / "arena-hard-v2.0"
O3 = "o3-mini-2025-01-31"
PLANTED = ["huge", "long", "short", "tiny"]
PATTERNS = (r"\[\[([AB<>=]+)\]\]", r"\[([AB<>=]+)\]")


def _official_settings() -> dict:
    """JUDGE_SETTINGS of the official utils/judge_utils.py, evaluated from its literal assignments."""
    env: dict = {}
    for node in ast.parse((V2_PROTOCOL / "judge_utils.py").read_text()).body:
        assert isinstance(node, ast.Assign)
        env[node.targets[0].id] = eval(compile(ast.Expression(node.value), "judge_utils", "eval"), {}, env)
    return env["JUDGE_SETTINGS"]


# ------------------------------------------------------------------------------------------------------------
# shipped data
# ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (("arena_hard_v2", "question.jsonl"), V2_DATA / "question.jsonl"),
        (("arena_hard_v2", "model_answer", f"{O3}.jsonl"), V2_DATA / "model_answer" / f"{O3}.jsonl"),
        (("judge", "arena-hard-v2.0", "arena-hard-v2.0.yaml"), V2_PROTOCOL / "arena-hard-v2.0.yaml"),
    ],
)
def test_shipped_files_are_byte_identical(ours: tuple[str, ...], theirs: Path) -> None:
    assert data_file(*ours).read_bytes() == theirs.read_bytes()


def test_system_prompts_and_baselines_are_the_official_ones() -> None:
    settings = _official_settings()
    benchmark = get_benchmark("arena-hard-v2.0")
    for category in benchmark.categories:
        assert category.system_prompt == settings[category.name]["system_prompt"]
        assert category.baseline == settings[category.name]["baseline"]
    assert benchmark.main_categories == ("hard_prompt", "creative_writing")
    template = load_template("arena-hard-v2.0")
    assert template.system_prompt_for("creative_writing") == settings["creative_writing"]["system_prompt"]
    assert template.system_prompt_for("hard_prompt") == settings["hard_prompt"]["system_prompt"]
    assert (template.temperature, template.max_tokens, template.attempts) == (0.0, 16000, 1)
    official = (
        "<|User Prompt|>\nQ\n\n<|The Start of Assistant A's Answer|>\nA\n<|The End of Assistant A's Answer|>"
    )
    assert template.user_prompt("Q", "A", "B").startswith(official)


def test_answer_metadata_equals_the_official_on_all_750_o3_mini_answers() -> None:
    rows = [
        json.loads(line) for line in (V2_DATA / "model_answer" / f"{O3}.jsonl").read_text().split("\n")[:-1]
    ]
    assert len(rows) == 750
    wrong = []
    for row in rows:
        ours = answer_metadata(row["messages"][-1]["content"]["answer"])
        if ours != row["metadata"] or list(ours) != list(row["metadata"]):
            wrong.append(row["uid"])
    assert wrong == []


def test_metadata_removes_code_the_official_way() -> None:
    # the inner text of each ``` block is deleted everywhere in the answer, the fences stay
    text = "```\nx\n```\n# Title\n\nx\n- item\n**bold** __under__\n```\n# in code\n```"
    counts = answer_metadata(text)
    assert counts["header_count"]["h1"] == 1  # "# in code" was removed, "# Title" stays
    assert counts["list_count"] == {"ordered": 0, "unordered": 1}
    assert counts["bold_count"] == {"**": 1, "__": 1}
    assert answer_metadata("<|endoftext|>")["token_len"] > 1  # special tokens count as text


# ------------------------------------------------------------------------------------------------------------
# verdicts and battles
# ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "raw", "label"),
    [
        ("first [[A>B]] then, finally, [[B>A]]", "B>A", "B>A"),  # the last match wins
        ("verdict: [[a>>b]]", "A>>B", "A>>B"),  # read upper-cased
        ("only single [B<<A] brackets", "B<<A", "A>>B"),  # the second pattern when the first has none
        ("[[A=B]] and [B>A]", "A=B", "A=B"),  # the first pattern with a match decides
        ("no verdict", None, None),
        ("[[A>B>A]]", None, None),  # not one of the ten labels the official scorer maps
    ],
)
def test_v2_verdict_rule(text: str, raw: str | None, label: str | None) -> None:
    verdict = parse_last_verdict(text, PATTERNS)
    assert (verdict.raw, verdict.label) == (raw, label)


def _game(model: str, uid: str, game: int, score: str | None) -> Judgment:
    return Judgment(model, uid, game, {"score": score}, "hard_prompt")


def test_v2_battles_drop_the_whole_question_and_list_game_2_first() -> None:
    games = [
        _game("m", "q1", 0, "A>>B"),  # baseline much better: model scores 0, three times
        _game("m", "q1", 1, "A>B"),  # model (A) better: 1
        _game("m", "q2", 0, "B>A"),
        _game("m", "q2", 1, None),  # no verdict: q2 goes whole
        _game("m", "q3", 0, "A=B"),
        _game("m", "q3", 1, "B<<A"),  # B<<A: A (the model) much better
    ]
    battles = build_battles(games, "overall", O3, per_question=True)
    # official: scores = label_to_score[game2] + [1 - s for s in label_to_score[game1]], per line
    assert battles.outcome.tolist() == [1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.5]
    assert battles.unparsed == {"m": 1}
    v01 = build_battles(games, "overall", O3)  # v0.1 keeps q2's readable game
    assert len(v01.outcome) == len(battles.outcome) + 1


# ------------------------------------------------------------------------------------------------------------
# the CLI on a v2.0 folder
# ------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def v2_judged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, ScriptedServer, object]]:
    bench = make_v2_bench(tmp_path_factory.mktemp("v2") / "arena-hard-v2.0")
    with ScriptedServer() as server:
        result = cli(
            "judge",
            "run",
            "--judge",
            JUDGE,
            "--models",
            ",".join(MODELS),
            "-d",
            str(bench),
            *endpoint(server),
        )
        yield bench, server, result


def test_folder_is_detected_and_judged_in_v2_layout(v2_judged) -> None:
    bench, _, result = v2_judged
    assert result.exit_code == 0, result.output
    assert detect_benchmark(bench).name == "arena-hard-v2.0"
    folder = bench / "model_judgment" / JUDGE
    key = json.loads((folder / "sosbench-judge.json").read_text())
    assert key["benchmark"] == "arena-hard-v2.0"
    lines = [json.loads(line) for line in (folder / "huge.jsonl").read_text().split("\n")[:-1]]
    assert len(lines) == 10
    questions = {q.uid: q for q in BenchDir.open(bench).questions()}
    o3 = read_answers(data_file("arena_hard_v2", "model_answer", f"{O3}.jsonl"))
    for line in lines:
        assert list(line)[:6] == ["uid", "category", "judge", "model", "baseline", "games"]
        assert line["baseline"] == V2_BASE[line["category"]] == V2_BASE[questions[line["uid"]].category]
        first, second = line["games"]
        assert set(first) >= {"score", "judgment", "prompt"} and isinstance(first["judgment"]["answer"], str)
        system = get_benchmark("arena-hard-v2.0").category(line["category"]).system_prompt
        assert first["prompt"][0] == {"role": "system", "content": system}
        if line["category"] == "hard_prompt":  # game 1 has the baseline as A, game 2 as B
            base = o3[line["uid"]].text
            assert (
                f"Assistant A's Answer|>\n{base}\n<|The End of Assistant A" in first["prompt"][1]["content"]
            )
            assert (
                f"Assistant B's Answer|>\n{base}\n<|The End of Assistant B" in second["prompt"][1]["content"]
            )


def test_v2_scores_per_category_recover_the_planted_ranking(v2_judged) -> None:
    bench, _, _ = v2_judged
    folder = bench / "model_judgment" / JUDGE
    result = cli("judge", "score", "--judgments", str(folder), "--format", "json")
    assert result.exit_code == 0, result.output
    board = json.loads(result.stdout)
    assert board["benchmark"] == "arena-hard-v2.0" and list(board["categories"]) == [
        "hard_prompt",
        "creative_writing",
    ]
    for category, entry in board["categories"].items():
        assert entry["baseline"] == V2_BASE[category]
        # the default is what v2.0's show_result.py prints without flags: its estimator, no style control
        overall = entry["criteria"]["overall"]
        assert overall["estimator"] == "arena-hard-v2.0" and overall["style_control"] == []
        assert overall["point"] == "mean of bootstrap means" and overall["level"] == 90.0
        scores = {m: v["score"] for m, v in overall["models"].items() if m in MODELS}
        assert sorted(scores, key=scores.get, reverse=True) == PLANTED
    assert "scored by the arena-hard-v2.0 estimator" in result.stderr
    assert "add --style-control both" in result.stderr
    csv = cli(
        "judge", "score", "--judgments", str(folder), "--format", "csv", "--category", "creative_writing"
    )
    assert csv.stdout.splitlines()[0].startswith("category,model,score")
    assert all(line.startswith("creative_writing,") for line in csv.stdout.splitlines()[1:])


def test_unparsed_games_drop_their_questions(v2_judged) -> None:
    bench, _, _ = v2_judged
    folder = bench / "model_judgment" / JUDGE
    games = read_judgments(folder)
    hard = [g for g in games if g.category == "hard_prompt"]
    battles = build_battles(hard, "overall", O3, per_question=True)
    unreadable = {(g.model, g.uid) for g in hard if g.verdict("overall") is None}
    assert unreadable, "the fake judge's garbage-always fault should leave some games without a verdict"
    kept = {(hard[r].model, hard[r].uid) for r in battles.game_row}
    assert not kept & unreadable


def test_creative_writing_is_left_out_without_gemini_answers(tmp_path: Path) -> None:
    bench = make_v2_bench(tmp_path / "b", hard=2, creative=2, gemini=False)
    with ScriptedServer(faults=False) as server:
        result = cli(
            "judge", "run", "--judge", JUDGE, "--models", "huge", "-d", str(bench), *endpoint(server)
        )
        assert result.exit_code == 0, result.output
        assert "left out: creative_writing" in result.stderr
        lines = (bench / "model_judgment" / JUDGE / "huge.jsonl").read_text().split("\n")[:-1]
        assert {json.loads(line)["category"] for line in lines} == {"hard_prompt"}
        asked = cli(
            "judge",
            "run",
            "--judge",
            JUDGE,
            "--models",
            "huge",
            "-d",
            str(bench),
            "--category",
            "creative_writing",
            *endpoint(server),
        )
    assert "gemini-2.0-flash-001" in error_line(asked) and "not shipped" in error_line(asked)


def test_v2_refuses_a_baseline_option_and_a_mismatched_benchmark(tmp_path: Path) -> None:
    bench = make_v2_bench(tmp_path / "b", hard=1, creative=0, gemini=False)
    judge_huge = ("judge", "run", "--judge", JUDGE, "--models", "huge", "-d", str(bench))
    baseline = cli(*judge_huge, "--baseline", "x")
    assert "--baseline does not apply" in error_line(baseline)
    wrong = cli(*judge_huge, "--benchmark", "arena-hard-v0.1")
    assert "holds arena-hard-v2.0 questions" in error_line(wrong)
    clash = cli("judge", "run", "--judge", JUDGE, "--models", O3, "-d", str(bench))
    assert "includes the baseline o3-mini-2025-01-31" in error_line(clash)


def test_answer_writes_v2_metadata_and_the_packaged_questions(tmp_path: Path) -> None:
    bench = tmp_path / "arena-hard-v2.0"
    with ScriptedServer() as server:
        result = cli(
            "judge",
            "answer",
            "--benchmark",
            "arena-hard-v2.0",
            "--model",
            "gen",
            "-d",
            str(bench),
            "--limit",
            "3",
            "--category",
            "creative_writing",
            *endpoint(server),
        )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (bench / "model_answer" / "gen.jsonl").read_text().split("\n")[:-1]]
    creative = {
        json.loads(line)["uid"]
        for line in data_file("arena_hard_v2", "question.jsonl").read_text().split("\n")[:-1]
        if '"creative_writing"' in line
    }
    assert len(rows) == 3 and {r["uid"] for r in rows} <= creative
    for row in rows:
        assert row["metadata"] == answer_metadata(row["messages"][-1]["content"]["answer"])
        assert list(row["metadata"]) == ["token_len", "header_count", "list_count", "bold_count"]


def test_template_hash_of_v01_templates_is_unchanged() -> None:
    """Judgments made before v2.0 existed keep their key: the v0.1 hash covers the same fields as before."""
    template = load_template("arena-hard")
    fields = [
        template.system_prompt,
        template.prompt_template,
        template.regex_patterns[0],
        template.attempts,
        template.temperature,
        template.max_tokens,
        list(template.criteria),
    ]
    assert template.sha256 == hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode()).hexdigest()


def test_v2_dry_run_counts_one_call_per_game_and_writes_nothing(tmp_path: Path) -> None:
    bench = make_v2_bench(tmp_path / "b", hard=2, creative=1, gemini=True)
    result = cli("judge", "run", "--judge", JUDGE, "--models", "huge,tiny", "-d", str(bench), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "games to judge:     12 of 12" in result.stdout
    assert "(one per game, none repeated)" in result.stdout
    assert "template arena-hard-v2.0" in result.stdout and not (bench / "model_judgment").exists()
