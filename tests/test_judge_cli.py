"""`sosbench judge` end to end against a real OpenAI-compatible HTTP server on loopback.

The server is a scripted judge with a planted rule: it prefers the longer of the two answers (by words).
With the multi-criteria template, style and completeness follow length, conciseness the reverse, while
correctness is a hash of the game (unrelated to length); criterion verdicts where B wins are written as
``A<B`` / ``A<<B``, the forms the reference scorer dropped. It injects faults by a hash of the game, so
their number is fixed: a 429 (with Retry-After), a 500, or a reply that never ends (whitespace trickled
until the client hangs up, so only a deadline on the whole request ends it) on the first request of a game,
a reply without a verdict on the first turn (the second attempt then parses),
and games whose every reply is garbage (counted as unparseable). It also rewrites answers (`perturb`:
it keeps the first 40% of the words) and answers questions (`answer`).

Four synthetic models have answers of clearly different lengths relative to the gpt-4-0314 baseline, so
the planted ranking is huge > long > short > tiny.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from sosbench.cli._app import app
from sosbench.judge import BenchDir, read_answers

if TYPE_CHECKING:
    from email.message import Message

    from typing_extensions import Self

BASE = "gpt-4-0314"
JUDGE = "gpt-4o-mini-2024-07-18"
N_QUESTIONS = 10
SPREAD = (0.55, 0.65, 0.75, 0.85, 0.95, 1.05, 1.15, 1.3, 1.5, 1.8)  # per-question length factor
MODELS = {"tiny": 0.45, "short": 0.8, "long": 1.3, "huge": 2.2}  # mean length relative to the baseline
PLANTED = ["huge", "long", "short", "tiny"]
FAULTS = {0: "429", 1: "500", 2: "slow", 3: "garbage-once", 4: "garbage-always"}  # by hash bucket of a game
BUCKETS = 16
# No reply is slow on purpose except the "slow" fault, which never finishes: the timeout only has to be
# longer than an ordinary loopback reply, and nothing races it.
CLIENT_TIMEOUT = "3"
TRICKLE_LIMIT_S = 60.0  # a "slow" reply gives up here if the client never cancels (the bug this guards)
_SECTION = re.compile(
    r"<\|The Start of Assistant ([AB])'s Answer\|>\n(.*?)\n<\|The End of Assistant \1's Answer\|>", re.DOTALL
)
_ORIGINAL = re.compile(
    r"<\|The Start of the Original Answer\|>\n(.*?)\n<\|The End of the Original Answer\|>", re.DOTALL
)


# ------------------------------------------------------------------------------------------------------------
# the scripted server
# ------------------------------------------------------------------------------------------------------------
# A scripted reply for one request (status, body bytes, headers), or None to answer as the scripted judge.
RawReply = Callable[[dict, "Message"], "tuple[int, bytes, dict] | None"]  # body, request headers


def length_verdict(a: int, b: int) -> str:
    ratio = a / max(b, 1)
    if ratio >= 1.5:
        return "A>>B"
    if ratio >= 1.1:
        return "A>B"
    if ratio > 1 / 1.1:
        return "A=B"
    return "B>A" if ratio > 1 / 1.5 else "B>>A"


LESS_THAN = {"A>>B": "A>>B", "A>B": "A>B", "A=B": "A=B", "B>A": "A<B", "B>>A": "A<<B"}
REVERSED = {"A>>B": "B>>A", "A>B": "B>A", "A=B": "A=B", "B>A": "A>B", "B>>A": "A>>B"}


def game_bucket(prompt: str) -> int:
    return int(hashlib.sha256(prompt.encode()).hexdigest()[:8], 16) % BUCKETS


class ScriptedServer:
    """An OpenAI-compatible /v1/chat/completions with a planted judging rule and fixed-rate faults."""

    def __init__(
        self,
        *,
        faults: bool = True,
        delay: float = 0.0,
        always_fail: bool = False,
        raw: RawReply | None = None,
    ) -> None:
        self.faults, self.delay, self.always_fail, self.raw = faults, delay, always_fail, raw
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.attempts: Counter[str] = Counter()  # per request body
        self.verdicts: Counter[str] = Counter()  # per game (its first user prompt): verdict replies sent
        self.changed = threading.Condition(self.lock)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                scripted = server.raw(body, self.headers) if server.raw else None
                if scripted is not None:
                    server.count("requests")
                    server.send_raw(self, *scripted)
                    return
                if self.headers.get("Authorization") == "Bearer bad-key":
                    status, text, headers = 401, {"error": {"message": "invalid api key"}}, {}
                elif server.always_fail:
                    server.count("requests")
                    status, text, headers = 503, {"error": {"message": "overloaded"}}, {}
                else:
                    status, text, headers = server.respond(self.path, body)
                if status is None:
                    return
                if status == "trickle":
                    server.trickle(self)
                    return
                payload = json.dumps(text if status != 200 else server.completion(body, text)).encode()
                try:
                    self.send_response(status)
                    for key, value in {"Content-Type": "application/json", **headers}.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def count(self, name: str) -> None:
        with self.lock:
            self.counts[name] += 1
            self.changed.notify_all()

    def wait_for(self, predicate: Callable[[Counter[str]], bool], timeout: float = 30.0) -> bool:
        """Block until ``predicate(counts)`` holds (an event, not a sleep); False if it never does."""
        with self.lock:
            return self.changed.wait_for(lambda: predicate(self.counts), timeout)

    def send_raw(self, handler: BaseHTTPRequestHandler, status: int, payload: bytes, headers: dict) -> None:
        """Send exactly these bytes (broken JSON, a reply without choices, ...), as the test scripted them."""
        try:
            handler.send_response(status)
            for key, value in {"Content-Type": "application/json", **headers}.items():
                handler.send_header(key, value)
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def trickle(self, handler: BaseHTTPRequestHandler) -> None:
        """A 200 whose JSON body never comes: leading whitespace, one byte at a time, until the client leaves.

        Every byte restarts an HTTP read timeout, so only a deadline on the whole request ends it; the
        client's closing the connection is what the server sees (counted as ``cancelled``).
        """
        handler.close_connection = True
        try:
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.end_headers()
            deadline = time.monotonic() + TRICKLE_LIMIT_S
            while time.monotonic() < deadline:
                handler.wfile.write(b" ")
                handler.wfile.flush()
                time.sleep(0.05)
        except (BrokenPipeError, ConnectionResetError):
            self.count("cancelled")

    def completion(self, body: dict, text: str) -> dict:
        prompt = sum(len(m["content"]) for m in body["messages"]) // 4
        usage = {"prompt_tokens": prompt, "completion_tokens": len(text) // 4 + 1}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        return {
            "id": "c1",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [choice],
            "usage": usage,
        }

    def respond(self, path: str, body: dict) -> tuple[int | str | None, object, dict]:
        self.count("requests")
        if self.delay:
            time.sleep(self.delay)
        if not path.endswith("/chat/completions"):
            return 404, {"error": {"message": "not found"}}, {}
        messages = body["messages"]
        system = messages[0]["content"] if messages[0]["role"] == "system" else ""
        if "careful editor" in system:
            self.count("rewrites")
            words = _ORIGINAL.search(messages[1]["content"]).group(1).split()
            return 200, " ".join(words[: max(1, int(len(words) * 0.4))]), {}
        if "impartial judge" not in system:
            self.count("answers")
            return 200, f"{body['model']} answers: {messages[-1]['content'][:60]}", {}
        return self.judge(body, system, messages)

    def judge(self, body: dict, system: str, messages: list[dict]) -> tuple[int | str | None, object, dict]:
        game = messages[1]["content"]
        key = hashlib.sha256(json.dumps(messages).encode()).hexdigest()
        with self.lock:
            attempt = self.attempts[key]
            self.attempts[key] += 1
        fault = FAULTS.get(game_bucket(game)) if self.faults else None
        if attempt == 0 and fault == "429":
            self.count("429")
            return 429, {"error": {"message": "rate limited", "type": "rate_limit"}}, {"retry-after-ms": "20"}
        if attempt == 0 and fault == "500":
            self.count("500")
            return 500, {"error": {"message": "boom"}}, {}
        if attempt == 0 and fault == "slow":
            self.count("slow")
            return "trickle", None, {}
        first_turn = len(messages) == 2
        if fault == "garbage-always" or (fault == "garbage-once" and first_turn):
            self.count("garbage")
            return 200, "Both answers have merits and flaws; I cannot decide.", {}
        answers = {m.group(1): len(m.group(2).split()) for m in _SECTION.finditer(game)}
        verdict = length_verdict(answers["A"], answers["B"])
        lines = []
        if "Correctness:" in system:
            correctness = ("A>B", "A=B", "A<B")[int(hashlib.md5(game.encode()).hexdigest()[:6], 16) % 3]
            lines = [
                f"Correctness: (({correctness}))",
                f"**Completeness:** (({LESS_THAN[verdict]}))",
                "Safety: ((A=B))",
                f"Conciseness: (({LESS_THAN[REVERSED[verdict]]}))",
                f"Style: (({LESS_THAN[verdict]}))",
            ]
        with self.lock:
            self.verdicts[game] += 1
        return 200, "\n".join([*lines, f"My final verdict is: [[{verdict}]]"]), {}

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# ------------------------------------------------------------------------------------------------------------
# fixtures
# ------------------------------------------------------------------------------------------------------------
def make_bench(root: Path) -> Path:
    """A bench folder: the first questions of the packaged set and four synthetic answer sets."""
    from sosbench.judge._templates import data_file

    lines = data_file("arena_hard", "question.jsonl").read_text(encoding="utf-8").splitlines()[:N_QUESTIONS]
    root.mkdir(parents=True)
    (root / "question.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    bench = BenchDir(root)
    baseline = bench.answers(BASE)
    (root / "model_answer").mkdir()
    for model, mean in MODELS.items():
        rows = []
        for i, question in enumerate(bench.questions()):
            words = baseline[question.uid].text.split()
            n = max(1, round(mean * SPREAD[i] * len(words)))
            text = " ".join((words * (n // len(words) + 1))[:n])
            rows.append(
                {
                    "uid": question.uid,
                    "ans_id": f"{model}-{i}",
                    "model": model,
                    "tstamp": 0.0,
                    "messages": [
                        {"role": "user", "content": question.prompt},
                        {"role": "assistant", "content": {"answer": text}},
                    ],
                }
            )
        (root / "model_answer" / f"{model}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def cli(*args: str) -> object:
    result = CliRunner().invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def error_line(result: object) -> str:
    """The one ``error: ...`` line a failed command ends with (and there is exactly one, and no traceback)."""
    lines = result.stderr.strip().splitlines()  # type: ignore[attr-defined]
    errors = [line for line in lines if line.startswith("error:")]
    assert result.exit_code == 1 and len(errors) == 1 and lines[-1] == errors[0], result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in result.stderr  # type: ignore[attr-defined]
    return errors[0]


def endpoint(server: ScriptedServer) -> list[str]:
    return [
        "--base-url",
        server.url,
        "--api-key",
        "test-key",
        "--timeout",
        CLIENT_TIMEOUT,
        "--backoff",
        "0.01",
    ]


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
        "judge", "score", "--judgments", str(folder), "--style-control", "--rounds", "5", "--format", "json"
    )
    assert controlled.exit_code == 0, controlled.output
    coef = json.loads(controlled.stdout)["style_coef"]["overall"]
    assert coef["length"] > 1.0  # the planted length preference is what the covariate picks up


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
            sys.executable,
            "-m",
            "sosbench.cli",
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
        proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
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
        rerun = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60, check=False)
        assert rerun.returncode == 0, rerun.stderr
        assert f"{games - done} games judged ({done} already done)" in rerun.stderr
    lines = judgment_lines(folder)
    keys = [(x["model"], x["question_id"]) for x in lines]
    assert len(keys) == len(set(keys)) == N_QUESTIONS * len(MODELS)
    assert all(len(x["games"]) == 2 and all(g["score"] for g in x["games"]) for x in lines)
    assert not any((folder / ".partial").glob("*.jsonl"))
    again = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60, check=False)
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
    from sosbench.judge import file_stem

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
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "sosbench.cli",
            "judge",
            "run",
            "--judge",
            JUDGE,
            "--models",
            "nobody",
            "-d",
            str(bench),
            "--dry-run",
        ],
        capture_output=True,
        text=True,
        check=False,
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
