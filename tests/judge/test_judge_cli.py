"""`sosbench judge` end to end against a real OpenAI-compatible HTTP server on loopback.

The server is tests/_fake_endpoint.py's scripted judge with a planted rule: it prefers the longer of the
two answers (by words), and injects a fixed number of faults (429, 500, a reply that never ends, replies
without a verdict). Four synthetic models have answers of clearly different lengths relative to the
gpt-4-0314 baseline, so the planted ranking is huge > long > short > tiny.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from _cli import sosbench_command, sosbench_in_process
from _fake_endpoint import (
    BASE,
    CLIENT_TIMEOUT,
    JUDGE,
    MODELS,
    N_QUESTIONS,
    ScriptedServer,
    cli,
    endpoint,
    error_line,
    game_bucket,
    make_bench,
)
from typer.testing import CliRunner

from sosbench.cli._app import app
from sosbench.judge import BenchDir, read_answers
from sosbench.judge._files import file_stem

PLANTED = ["huge", "long", "short", "tiny"]


@pytest.fixture(scope="module")
def judged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, ScriptedServer, object]]:
    """One fault-injected `judge run` of the four models with the multi-criteria template."""
    bench = make_bench(tmp_path_factory.mktemp("judge") / "bench")
    with ScriptedServer() as server:
        result = cli(
            "judge",
            "run",
            "--judge",
            JUDGE,
            "--template",
            "sos-multicriteria",
            "--models",
            "tiny,short",
            "--models",
            "long,huge",
            "-d",
            str(bench),
            "--parallel",
            "6",
            *endpoint(server),
        )
        yield bench, server, result


def judgment_lines(folder: Path) -> list[dict]:
    return [
        json.loads(line) for path in sorted(folder.glob("*.jsonl")) for line in path.read_text().splitlines()
    ]


# ------------------------------------------------------------------------------------------------------------
# tests
# ------------------------------------------------------------------------------------------------------------
def test_faults_are_injected_retried_and_no_game_is_lost_or_duplicated(judged) -> None:
    bench, server, result = judged
    assert result.exit_code == 0, result.output
    games = 2 * N_QUESTIONS * len(MODELS)
    for fault in ("429", "500", "slow", "garbage"):
        assert server.counts[fault] >= 1, f"no {fault} was injected: change BUCKETS"
    # a request past --timeout is really cancelled (the server sees the client hang up), and counted
    assert server.wait_for(lambda c: c["cancelled"] == c["slow"]), server.counts
    slow = server.counts["slow"]
    assert (
        f"endpoint: {slow} request{'s' * (slow != 1)} outlived --timeout ({CLIENT_TIMEOUT} s)"
        in result.output
    )
    folder = bench / "model_judgment" / JUDGE
    lines = judgment_lines(folder)
    assert sorted((x["model"], x["question_id"]) for x in lines) == sorted(
        {(x["model"], x["question_id"]) for x in lines}
    )
    assert len(lines) == N_QUESTIONS * len(MODELS)
    assert all(len(x["games"]) == 2 and x["judge"] == JUDGE for x in lines)
    assert not (folder / ".partial").exists() or not any((folder / ".partial").iterdir())
    # every game that got a verdict got exactly one (a retry after a timeout did not judge it twice)
    assert max(server.verdicts.values()) == 1
    unparsed = sum(g["score"] is None for x in lines for g in x["games"])
    garbage_games = sum(1 for x in lines for g in x["games"] if game_bucket(g["user_prompt"]) == 4)
    assert unparsed == garbage_games >= 1
    assert len(server.verdicts) == games - unparsed
    assert "without a readable verdict (counted, not scored)" in result.output
    assert f"{games} games judged" in result.output
    usage = [g["usage"] for x in lines for g in x["games"]]
    assert all(u["prompt_tokens"] > 0 and u["completion_tokens"] > 0 for u in usage)
    # the A<B forms were read: a game the judge gave to B (the longer answer) is B>A in the style field
    styles = Counter(g.get("style_score") for x in lines for g in x["games"])
    assert styles["B>A"] + styles["B>>A"] > 0 and "A<B" not in styles


def test_scores_recover_the_planted_ranking_with_criteria_and_unparsed_counts(judged) -> None:
    bench, _, _ = judged
    folder = bench / "model_judgment" / JUDGE
    result = cli(
        "judge",
        "score",
        "--judgments",
        str(folder),
        "--criterion",
        "all",
        "--format",
        "json",
        "--rounds",
        "50",
    )
    assert result.exit_code == 0, result.output
    board = json.loads(result.stdout)
    overall = {m: v["score"] for m, v in board["criteria"]["overall"].items()}
    assert sorted(MODELS, key=overall.get, reverse=True) == PLANTED
    assert overall[BASE] == 50.0
    style = {m: v["score"] for m, v in board["criteria"]["style"].items()}
    assert sorted(MODELS, key=style.get, reverse=True) == PLANTED
    concise = {m: v["score"] for m, v in board["criteria"]["conciseness"].items()}
    assert sorted(MODELS, key=concise.get) == PLANTED
    assert set(board["criteria"]) == {
        "overall",
        "correctness",
        "completeness",
        "safety",
        "conciseness",
        "style",
    }
    assert sum(v["unparsed"] for v in board["criteria"]["overall"].values()) >= 1
    assert "without a readable verdict" in result.stderr
    for model, row in board["criteria"]["overall"].items():
        assert row["rating_q025"] <= row["score"] <= row["rating_q975"], model

    csv_out = bench / "board.csv"
    result = cli(
        "judge", "score", "--judgments", str(folder), "--criterion", "overall,style", "--output", str(csv_out)
    )
    header = csv_out.read_text().splitlines()[0].split(",")
    assert header == [
        "model",
        "score",
        "rating_q025",
        "rating_q975",
        "CI",
        "style_score",
        "style_rating_q025",
        "style_rating_q975",
        "style_CI",
    ]
    assert csv_out.read_text().splitlines()[1].startswith("huge,")
    from sosbench.report._model import read_judge_scores

    assert read_judge_scores(csv_out) == pytest.approx(
        {m: round(v, 2) for m, v in overall.items()}, abs=0.006
    )

    table = cli(
        "judge", "score", "--judgments", str(folder), "--criterion", "overall,style", "--rounds", "10"
    )
    assert table.exit_code == 0, table.output
    assert "bootstrap CI" in table.stdout and re.search(r"huge\s+│\s+100\.0 \(", table.stdout)

    controlled = cli(
        "judge",
        "score",
        "--judgments",
        str(folder),
        "--style-control",
        "length",
        "--rounds",
        "5",
        "--format",
        "json",
    )
    assert controlled.exit_code == 0, controlled.output
    coef = json.loads(controlled.stdout)["criteria"]["overall"]["style_coef"]["length"]
    assert coef["coef"] > 1.0  # the planted length preference is what the covariate picks up


def test_audit_finds_the_planted_style_bias(judged, tmp_path: Path) -> None:
    bench, _, _ = judged
    out = tmp_path / "audit.json"
    result = cli("judge", "audit", "--judgments", str(bench / "model_judgment" / JUDGE), "--output", str(out))
    assert result.exit_code == 0, result.output
    audit = json.loads(out.read_text())
    (entry,) = audit["judges"]
    assert entry["judge"] == JUDGE and entry["n_models"] == len(MODELS)
    assert entry["criteria"]["style"]["pearson"] > 0.95 and entry["criteria"]["style"]["spearman"] == 1.0
    assert entry["criteria"]["conciseness"]["spearman"] == -1.0
    assert entry["criteria"]["safety"]["pearson"] is None  # always a tie: constant, undefined
    assert "style" in result.stdout

    from sosbench.report._model import read_audit

    assert read_audit(out)[0]["judge"] == JUDGE


def test_dry_run_calls_nothing_and_prints_calls_tokens_cost(tmp_path: Path) -> None:
    bench = make_bench(tmp_path / "bench")
    with ScriptedServer() as server:
        result = cli(
            "judge",
            "run",
            "--judge",
            JUDGE,
            "--models",
            "tiny,huge",
            "-d",
            str(bench),
            "--dry-run",
            *endpoint(server),
        )
        assert result.exit_code == 0, result.output
        assert server.counts["requests"] == 0
    assert not (bench / "model_judgment").exists()
    assert "calls:              40" in result.stdout
    tokens = int(re.search(r"prompt tokens:\s+~([\d,]+)", result.stdout).group(1).replace(",", ""))
    assert tokens > 1000
    assert re.search(r"cost:\s+~\$\d+\.\d\d \(USD 0.15/0.6 per 1M", result.stdout)
    prices = tmp_path / "prices.yaml"
    prices.write_text("prices:\n  house-judge: {input: 1000, output: 2000}\n")
    custom = cli(
        "judge",
        "run",
        "--judge",
        "house-judge",
        "--models",
        "tiny",
        "-d",
        str(bench),
        "--dry-run",
        "--prices",
        str(prices),
        "--completion-tokens",
        "100",
    )
    cost = float(re.search(r"cost:\s+~\$([\d,.]+)", custom.stdout).group(1).replace(",", ""))
    est = int(re.search(r"prompt tokens:\s+~([\d,]+)", custom.stdout).group(1).replace(",", ""))
    assert cost == pytest.approx((est * 1000 + 20 * 100 * 2000) / 1e6, abs=0.01)
    unknown = cli("judge", "run", "--judge", "house-judge", "--models", "tiny", "-d", str(bench), "--dry-run")
    assert "cost:               unknown (no price for house-judge" in unknown.stdout


def test_killed_run_resumes_without_loss_or_duplicates(tmp_path: Path) -> None:
    bench = make_bench(tmp_path / "bench")
    folder = bench / "model_judgment" / JUDGE
    games = 2 * N_QUESTIONS * len(MODELS)
    env = {**os.environ, "SOSBENCH_JUDGE_API_KEY": "k"}
    with ScriptedServer(faults=False, delay=0.04) as server:
        args = [
            "judge",
            "run",
            "--judge",
            JUDGE,
            "--template",
            "arena-hard",
            "--models",
            ",".join(MODELS),
            "-d",
            str(bench),
            "--parallel",
            "2",
            "--base-url",
            server.url,
        ]
        # the kill is the point: a child process; the reruns read what it left, so they run in this one
        proc = subprocess.Popen(
            sosbench_command(*args), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        journal = folder / ".partial"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            written = (
                sum(p.read_text().count("\n") for p in journal.glob("*.jsonl")) if journal.exists() else 0
            )
            if written >= 15:
                break
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL
        done = _games_on_disk(folder)
        assert 15 <= done < games
        rerun = sosbench_in_process(*args, env={"SOSBENCH_JUDGE_API_KEY": "k"})
        assert rerun.returncode == 0, rerun.stderr
        assert f"{games - done} games judged ({done} already done)" in rerun.stderr
    lines = judgment_lines(folder)
    keys = [(x["model"], x["question_id"]) for x in lines]
    assert len(keys) == len(set(keys)) == N_QUESTIONS * len(MODELS)
    assert all(len(x["games"]) == 2 and all(g["score"] for g in x["games"]) for x in lines)
    assert not any((folder / ".partial").glob("*.jsonl"))
    again = sosbench_in_process(*args, env={"SOSBENCH_JUDGE_API_KEY": "k"})
    assert "0 games judged" in again.stderr and len(judgment_lines(folder)) == len(lines)


def _games_on_disk(folder: Path) -> int:
    """Games a rerun must not redo: both games of each line, plus journaled calls of other questions (each
    call is a whole game here: without faults every first call has its verdict)."""
    done = {(x["model"], x["question_id"], g) for x in judgment_lines(folder) for g in (0, 1)}
    for path in (folder / ".partial").glob("*.jsonl"):
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line torn by the kill
            done.add((record["model"], record["question_id"], record["game"]))
    return len(done)


def test_perturb_is_cached_and_judging_it_reports_a_score_loss(judged) -> None:
    bench, _, _ = judged
    with ScriptedServer(faults=False) as server:
        first = cli(
            "judge",
            "perturb",
            "--kind",
            "concise",
            "--model",
            "huge",
            "--rewriter",
            "rewriter-x",
            "-d",
            str(bench),
            *endpoint(server),
        )
        assert first.exit_code == 0, first.output
        assert server.counts["rewrites"] == N_QUESTIONS
        target = bench / "model_answer" / "huge@concise.jsonl"
        answers = read_answers(target)
        original = read_answers(bench / "model_answer" / "huge.jsonl")
        assert len(answers) == N_QUESTIONS
        assert all(len(a.text.split()) < len(original[u].text.split()) for u, a in answers.items())
        record = json.loads(target.read_text().splitlines()[0])
        assert record["perturbation"]["kind"] == "concise" and record["model"] == "huge@concise"
        second = cli(
            "judge",
            "perturb",
            "--kind",
            "concise",
            "--model",
            "huge",
            "--rewriter",
            "rewriter-x",
            "-d",
            str(bench),
            *endpoint(server),
        )
        assert second.exit_code == 0 and server.counts["requests"] == N_QUESTIONS  # all from the cache
        assert "0 new rewriter calls" in second.stderr
        judged_again = cli(
            "judge",
            "run",
            "--judge",
            JUDGE,
            "--models",
            "huge,huge@concise",
            "-d",
            str(bench),
            *endpoint(server),
        )
        assert judged_again.exit_code == 0, judged_again.output
        assert f"{2 * N_QUESTIONS} games judged" in judged_again.stderr  # huge was judged already
    scored = cli(
        "judge",
        "score",
        "--judgments",
        str(bench / "model_judgment" / JUDGE),
        "--criterion",
        "all",
        "--format",
        "json",
        "--rounds",
        "0",
    )
    losses = {(x["model"], x["kind"], x["criterion"]): x for x in json.loads(scored.stdout)["interventions"]}
    assert losses[("huge", "concise", "overall")]["loss_percent"] > 20
    assert losses[("huge", "concise", "style")]["loss_percent"] > 20
    assert losses[("huge", "concise", "conciseness")]["loss_percent"] < 0  # shorter is more concise
    table = cli("judge", "score", "--judgments", str(bench / "model_judgment" / JUDGE), "--rounds", "0")
    assert "intervention score loss" in table.stdout and "concise" in table.stdout


def test_answer_writes_arena_hard_rows_and_resumes(tmp_path: Path) -> None:
    bench = tmp_path / "bench"
    with ScriptedServer() as server:
        result = cli(
            "judge", "answer", "--model", "org/gen-model", "-d", str(bench), "--limit", "4", *endpoint(server)
        )
        assert result.exit_code == 0, result.output
        path = bench / "model_answer" / f"{file_stem('org/gen-model')}.jsonl"
        assert path.name.startswith(
            "org_gen-model-"
        )  # the org is kept: another org's gen-model gets its own file
        rows = [json.loads(x) for x in path.read_text().splitlines()]
        questions = BenchDir(bench).questions(4)
        assert sorted(r["uid"] for r in rows) == sorted(q.uid for q in questions)
        for row in rows:
            assert row["model"] == "org/gen-model" and row["messages"][0]["role"] == "user"
            assert row["messages"][1]["content"]["answer"].startswith("org/gen-model answers:")
            assert {"ans_id", "tstamp"} <= set(row)
        assert server.counts["answers"] == 4
        again = cli(
            "judge", "answer", "--model", "org/gen-model", "-d", str(bench), "--limit", "5", *endpoint(server)
        )
        assert again.exit_code == 0 and server.counts["answers"] == 5
        assert len(read_answers(path)) == 5


def test_user_errors_are_one_line(tmp_path: Path) -> None:
    bench = make_bench(tmp_path / "bench")
    run = sosbench_in_process(
        "judge", "run", "--judge", JUDGE, "--models", "nobody", "-d", str(bench), "--dry-run"
    )
    assert run.returncode == 1
    expected = (
        f"error: no answers for model 'nobody' at {bench}/model_answer/nobody.jsonl: "
        "run `sosbench judge answer --model nobody` first"
    )
    assert run.stderr.strip().splitlines() == [expected]
    for args, message in (
        (
            ["judge", "run", "--judge", JUDGE, "--models", BASE, "-d", str(bench), "--dry-run"],
            "includes the baseline",
        ),
        (
            ["judge", "run", "--judge", JUDGE, "--models", "tiny", "-t", "nope", "-d", str(bench)],
            "neither a built-in",
        ),
        (["judge", "score", "--judgments", str(tmp_path / "none")], "no such folder"),
        (
            ["judge", "perturb", "--kind", "rude", "--model", "tiny", "--rewriter", "r", "-d", str(bench)],
            "unknown --kind",
        ),
    ):
        result = CliRunner().invoke(app, args)
        assert message in error_line(result), args


def test_refused_and_exhausted_requests_end_in_one_line_and_keep_nothing_half_done(tmp_path: Path) -> None:
    bench = make_bench(tmp_path / "bench")
    base = [
        "judge",
        "run",
        "--judge",
        JUDGE,
        "--models",
        "tiny",
        "-d",
        str(bench),
        "--limit",
        "2",
        "--backoff",
        "0",
    ]
    with ScriptedServer() as server:
        refused = CliRunner().invoke(app, [*base, "--base-url", server.url, "--api-key", "bad-key"])
    assert refused.exit_code == 1
    assert "the endpoint refused a request (HTTP 401: invalid api key)" in error_line(refused)
    with ScriptedServer(always_fail=True) as server:
        failing = CliRunner().invoke(
            app, [*base, "--base-url", server.url, "--api-key", "k", "--max-retries", "2"]
        )
        assert server.counts["requests"] == 4 * 3  # 4 games, each tried once and retried twice
    assert failing.exit_code == 1
    message = error_line(failing)
    assert "4 games kept failing (tiny " in message and "rerun the same command" in message
    assert "0 games judged" in failing.stderr
    folder = bench / "model_judgment" / JUDGE
    assert not (folder / "tiny.jsonl").exists() or not (folder / "tiny.jsonl").read_text()


def test_answer_with_a_local_hf_model_is_its_greedy_chat_completion(tiny_model: Path, tmp_path: Path) -> None:
    """Checked against lm-eval's own greedy chat generation (HFLM), not a copy of sosbench's code."""
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    bench = tmp_path / "bench"
    result = cli(
        "judge",
        "answer",
        "--model",
        "tiny-llama",
        "--hf",
        str(tiny_model),
        "-d",
        str(bench),
        "--limit",
        "2",
        "--max-tokens",
        "12",
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(x) for x in (bench / "model_answer" / "tiny-llama.jsonl").read_text().splitlines()]
    questions = BenchDir(bench).questions(2)
    assert sorted(r["uid"] for r in rows) == sorted(q.uid for q in questions)
    lm = HFLM(pretrained=str(tiny_model), device="cpu", batch_size=1, dtype="float32")
    for question in questions:
        row = next(r for r in rows if r["uid"] == question.uid)
        assert row["messages"][0] == {"role": "user", "content": question.prompt}
        prompt = lm.apply_chat_template([{"role": "user", "content": question.prompt}])
        greedy = {"until": [], "max_gen_toks": 12, "do_sample": False}
        (expected,) = lm.generate_until([Instance("generate_until", {}, (prompt, greedy), 0)])
        assert row["messages"][1]["content"]["answer"] == expected


def _dead_url() -> str:
    """A loopback address nothing listens on (a port just freed)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


@pytest.mark.parametrize("command", ["run", "answer", "perturb"])
def test_a_dead_server_is_one_line_naming_it_and_leaves_no_folder(tmp_path: Path, command: str) -> None:
    """Not "rerun the same command" after every retry: the address that does not answer, at once."""
    bench = make_bench(tmp_path / "bench")
    url = _dead_url()
    args = {
        "run": ["judge", "run", "--judge", JUDGE, "--models", "tiny", "-d", str(bench)],
        "answer": ["judge", "answer", "--model", "fresh", "-d", str(bench)],
        "perturb": [
            "judge",
            "perturb",
            "--kind",
            "concise",
            "--model",
            "tiny",
            "--rewriter",
            "r",
            "-d",
            str(bench),
        ],
    }[command]
    started = time.monotonic()
    result = CliRunner().invoke(app, [*args, "--base-url", url, "--api-key", "k", "--max-retries", "8"])
    line = error_line(result)
    assert line.startswith(f"error: cannot connect to {url} (") and line.endswith(
        "): start the server there, or fix --base-url"
    ), line
    assert time.monotonic() - started < 30  # no retries with backoff
    assert not (bench / "model_judgment").exists() and not (bench / "rewrite_cache").exists()
    assert not (bench / "model_answer" / "fresh.jsonl").exists()


def test_the_scripted_judge_prefers_the_longer_answer_through_the_real_client(tmp_path: Path) -> None:
    """The product's own loopback judge (`sosbench demo`): every verdict follows its length rule, and the
    judge files and scores are those of any judge."""
    from sosbench.judge import SCRIPTED_JUDGE, ScriptedJudgeServer

    bench = make_bench(tmp_path / "bench")
    with ScriptedJudgeServer() as server:
        local = ["--limit", "5", "--base-url", server.url, "--api-key", "none", "-d", str(bench)]
        result = cli("judge", "run", "--judge", SCRIPTED_JUDGE, "--models", ",".join(MODELS), *local)
        assert result.exit_code == 0, result.output
        assert server.requests == 2 * 5 * len(MODELS)
    folder = bench / "model_judgment" / SCRIPTED_JUDGE
    scored = cli(
        "judge",
        "score",
        "--judgments",
        str(folder),
        "--format",
        "json",
        "--criterion",
        "all",
        "--rounds",
        "0",
    )
    board = json.loads(scored.stdout)["criteria"]
    overall = sorted(MODELS, key=lambda m: -board["overall"][m]["score"])
    assert overall == PLANTED  # longer answers win, as the rule says
    assert {board["correctness"][m]["score"] for m in MODELS} == {50.0}  # the rule cannot judge correctness
    conciseness = sorted(MODELS, key=lambda m: -board["conciseness"][m]["score"])
    assert conciseness == PLANTED[::-1]


def test_the_scripted_judge_streams_when_asked_and_refuses_what_is_no_chat_request() -> None:
    import urllib.request

    from sosbench.judge import ScriptedJudgeServer, judgment_text, load_template

    verdict = load_template("arena-hard").verdict

    game = (
        "<|User Prompt|>\nq\n\n<|The Start of Assistant A's Answer|>\none two three four five six\n"
        "<|The End of Assistant A's Answer|>\n\n<|The Start of Assistant B's Answer|>\none two\n"
        "<|The End of Assistant B's Answer|>"
    )
    messages = [
        {"role": "system", "content": "You are an impartial judge."},
        {"role": "user", "content": game},
    ]
    assert verdict(judgment_text(messages)).label == "A>>B"
    assert verdict(judgment_text([{"role": "user", "content": "hello"}])).label is None
    with ScriptedJudgeServer() as server:
        body = json.dumps({"model": "j", "messages": messages, "stream": True}).encode()
        request = urllib.request.Request(
            f"{server.url}/chat/completions", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as reply:
            events = [line for line in reply.read().decode().split("\n\n") if line]
        assert events[-1] == "data: [DONE]"
        text = json.loads(events[0][len("data: ") :])["choices"][0]["delta"]["content"]
        assert text.endswith("[[A>>B]]")
        bad = urllib.request.Request(
            f"{server.url}/chat/completions", b"{not json", {"Content-Type": "application/json"}
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(bad, timeout=10)
        assert refused.value.code == 400
