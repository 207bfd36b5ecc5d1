"""The fake OpenAI-compatible endpoints the tests run against: real HTTP servers on loopback.

``ScriptedServer`` is a /v1/chat/completions judge with a planted rule: it prefers the longer of the two
answers (by words). With the multi-criteria template, style and completeness follow length, conciseness
the reverse, while correctness is a hash of the game (unrelated to length); criterion verdicts where B
wins are written as ``A<B`` / ``A<<B``, the forms the reference scorer dropped. It injects faults by a hash
of the game, so their number is fixed: a 429 (with Retry-After), a 500, or a reply that never ends
(whitespace trickled until the client hangs up, so only a deadline on the whole request ends it) on the
first request of a game, a reply without a verdict on the first turn (the second attempt then parses),
and games whose every reply is garbage (counted as unparseable). It also rewrites answers (`perturb`: it
keeps the first 40% of the words) and answers questions (`answer`). ``make_bench`` writes four synthetic
models whose answers have clearly different lengths relative to the gpt-4-0314 baseline, for it to judge.

``CompletionsServer`` is a /v1/completions that generates " ok" and refuses lm-eval's requests the way
the servers met in issue 12 did (tests/run/test_run_endpoint.py).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from typer.testing import CliRunner

from sosbench.cli._app import app
from sosbench.judge import BenchDir, answer_metadata, answer_words, length_verdict

if TYPE_CHECKING:
    from email.message import Message

    from typing_extensions import Self

BASE = "gpt-4-0314"
JUDGE = "gpt-4o-mini-2024-07-18"
N_QUESTIONS = 10
SPREAD = (0.55, 0.65, 0.75, 0.85, 0.95, 1.05, 1.15, 1.3, 1.5, 1.8)  # per-question length factor
MODELS = {"tiny": 0.45, "short": 0.8, "long": 1.3, "huge": 2.2}  # mean length relative to the baseline
FAULTS = {0: "429", 1: "500", 2: "slow", 3: "garbage-once", 4: "garbage-always"}  # by hash bucket of a game
BUCKETS = 16
# No reply is slow on purpose except the "slow" fault, which never finishes: the timeout only has to be
# longer than an ordinary loopback reply, and nothing races it.
CLIENT_TIMEOUT = "3"
TRICKLE_LIMIT_S = 60.0  # a "slow" reply gives up here if the client never cancels (the bug this guards)
POLL_S = 0.02
"""How often a server checks for shutdown: the default 0.5 s would be most of each short test."""
_ORIGINAL = re.compile(
    r"<\|The Start of the Original Answer\|>\n(.*?)\n<\|The End of the Original Answer\|>", re.DOTALL
)


# ------------------------------------------------------------------------------------------------------------
# the scripted server
# ------------------------------------------------------------------------------------------------------------
# A scripted reply for one request (status, body bytes, headers), or None to answer as the scripted judge.
RawReply = Callable[[dict, "Message"], "tuple[int, bytes | Iterable[bytes], dict] | None"]  # body, headers


LESS_THAN = {"A>>B": "A>>B", "A>B": "A>B", "A=B": "A=B", "B>A": "A<B", "B>>A": "A<<B"}
REVERSED = {"A>>B": "B>>A", "A>B": "B>A", "A=B": "A=B", "B>A": "A>B", "B>>A": "A>>B"}


def answer_text(model: str, prompt: str) -> str:
    """A scripted answer: "<model> answers: <prompt start>", then filler words, headers, list items, bold
    spans and a code block in amounts fixed by a hash of (model, prompt): lengths and markdown vary."""
    h = int(hashlib.sha256(f"{model}\n{prompt}".encode()).hexdigest()[:12], 16)
    parts = [f"{model} answers: {prompt[:60]}", " ".join(["word"] * (5 + h % 40))]
    parts += [f"{'#' * (1 + k)} Part {k}" for k in range((h >> 8) % 3)]
    parts += [f"- point {k}" if k % 2 else f"{k}. step {k}" for k in range((h >> 12) % 5)]
    parts += [f"Some **bold {k}** and __also {k}__" for k in range((h >> 16) % 3)]
    if (h >> 20) % 2:
        parts.append("```\n# not a header\n- not a list\n```")
    return "\n\n".join(parts)


def game_bucket(prompt: str) -> int:
    return int(hashlib.sha256(prompt.encode()).hexdigest()[:8], 16) % BUCKETS


def send_json(
    handler: BaseHTTPRequestHandler,
    status: int,
    payload: bytes | Iterable[bytes],
    headers: dict | None = None,
) -> None:
    """One reply of these bytes as JSON (broken JSON too, when a test scripts it); a client that hung up
    (its timeout, or a cap on the reply's size) is not an error of the server.

    A payload of chunks (a reply too large to hold) goes without a Content-Length, until the client leaves.
    """
    try:
        handler.send_response(status)
        for key, value in {"Content-Type": "application/json", **(headers or {})}.items():
            handler.send_header(key, value)
        if isinstance(payload, bytes):
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
            return
        handler.close_connection = True
        handler.end_headers()
        for chunk in payload:
            handler.wfile.write(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass


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
                    send_json(self, *scripted)  # exactly the bytes the test scripted
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
                send_json(self, status, payload, headers)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(POLL_S,), daemon=True)

    def count(self, name: str) -> None:
        with self.lock:
            self.counts[name] += 1
            self.changed.notify_all()

    def wait_for(self, predicate: Callable[[Counter[str]], bool], timeout: float = 30.0) -> bool:
        """Block until ``predicate(counts)`` holds (an event, not a sleep); False if it never does."""
        with self.lock:
            return self.changed.wait_for(lambda: predicate(self.counts), timeout)

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
            return 200, answer_text(body["model"], messages[-1]["content"]), {}
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
        answers = answer_words(game)
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
# the bench and the CLI, as the judge tests drive them
# ------------------------------------------------------------------------------------------------------------
def make_bench(root: Path) -> Path:
    """A bench folder: the first questions of the packaged set and four synthetic answer sets."""
    from sosbench.judge._templates import data_file

    lines = data_file("arena_hard", "question.jsonl").read_text(encoding="utf-8").splitlines()[:N_QUESTIONS]
    root.mkdir(parents=True)
    (root / "question.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    write_models(BenchDir(root), lambda question: BASE)
    return root


V2_BASE = {"hard_prompt": "o3-mini-2025-01-31", "creative_writing": "gemini-2.0-flash-001"}


def make_v2_bench(root: Path, hard: int = 6, creative: int = 4, gemini: bool = True) -> Path:
    """An arena-hard-v2.0 bench folder: the first ``hard`` hard_prompt and ``creative`` creative_writing
    questions, the four synthetic models, and (``gemini``) a stand-in gemini-2.0-flash-001 answer file
    (o3-mini's texts under gemini's name: the real ones are not shipped)."""
    from sosbench.judge._templates import data_file

    rows = [
        json.loads(line) for line in data_file("arena_hard_v2", "question.jsonl").read_text().split("\n")[:-1]
    ]
    chosen = [r for r in rows if r["category"] == "hard_prompt"][:hard]
    chosen += [r for r in rows if r["category"] == "creative_writing"][:creative]
    root.mkdir(parents=True)
    (root / "question.jsonl").write_text("".join(json.dumps(r) + "\n" for r in chosen), encoding="utf-8")
    bench = BenchDir.open(root)
    if gemini:
        o3 = (
            data_file("arena_hard_v2", "model_answer", "o3-mini-2025-01-31.jsonl")
            .read_text()
            .split("\n")[:-1]
        )
        wanted = {r["uid"] for r in chosen if r["category"] == "creative_writing"}
        lines = [json.loads(line) for line in o3]
        stand_in = [{**r, "model": V2_BASE["creative_writing"]} for r in lines if r["uid"] in wanted]
        (root / "model_answer").mkdir()
        target = root / "model_answer" / f"{V2_BASE['creative_writing']}.jsonl"
        target.write_text("".join(json.dumps(r) + "\n" for r in stand_in))
    write_models(bench, lambda question: V2_BASE["hard_prompt"])  # o3-mini answers every question
    return root


def write_models(bench: BenchDir, baseline_of: Callable[[Any], str]) -> None:
    """The four synthetic models' answers: each question's baseline answer stretched by the model's factor."""
    root = bench.root
    (root / "model_answer").mkdir(exist_ok=True)
    questions = bench.questions()
    baselines = {name: bench.answers(name) for name in {baseline_of(q) for q in questions}}
    for model, mean in MODELS.items():
        rows = []
        for i, question in enumerate(questions):
            words = baselines[baseline_of(question)][question.uid].text.split()
            n = max(1, round(mean * SPREAD[i % len(SPREAD)] * len(words)))
            text = " ".join((words * (n // len(words) + 1))[:n])
            row = {
                "uid": question.uid,
                "ans_id": f"{model}-{i}",
                "model": model,
                "tstamp": 0.0,
                "messages": [
                    {"role": "user", "content": question.prompt},
                    {"role": "assistant", "content": {"answer": text}},
                ],
            }
            if bench.benchmark.per_question:  # v2.0 answers carry their metadata
                row["metadata"] = answer_metadata(text)
            rows.append(row)
        (root / "model_answer" / f"{model}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


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


# ------------------------------------------------------------------------------------------------------------
# the completions server
# ------------------------------------------------------------------------------------------------------------
class CompletionsHandler(BaseHTTPRequestHandler):
    """`/v1/completions` that generates "ok" and fails the way ``server.behaviour`` says."""

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads the requests from ``server.requests``."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        server = cast("CompletionsServer", self.server)
        server.requests.append(body)
        behaviour = server.behaviour
        if behaviour == "rejects-echo" and body.get("echo"):
            return self._reply(
                400, {"error": {"message": "echo is not supported with logprobs", "code": 400}}
            )
        if behaviour == "rejects-empty-stop" and body.get("stop") == []:
            return self._reply(500, {"error": "Internal Server Error"})
        prompts = body["prompt"] if isinstance(body["prompt"], list) else [body["prompt"]]
        choices = [{"index": i, "text": " ok", "finish_reason": "length"} for i in range(len(prompts))]
        return self._reply(
            200, {"id": "cmpl-1", "object": "text_completion", "model": body.get("model"), "choices": choices}
        )

    def _reply(self, status: int, payload: dict[str, object]) -> None:
        send_json(self, status, json.dumps(payload).encode())


class CompletionsServer(ThreadingHTTPServer):
    """A loopback `/v1/completions` (``CompletionsHandler``) that keeps every request body it was sent."""

    def __init__(self, behaviour: str) -> None:
        super().__init__(("127.0.0.1", 0), CompletionsHandler)
        self.behaviour = behaviour
        self.requests: list[dict] = []
        self.thread = threading.Thread(target=self.serve_forever, args=(POLL_S,), daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.thread.join()
        self.server_close()
