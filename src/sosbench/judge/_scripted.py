"""A scripted judge behind a real OpenAI-compatible endpoint on loopback, for `sosbench demo`.

An LLM judge needs a large model or an API key; the demo has neither. This server speaks the
``/v1/chat/completions`` protocol every sosbench judge call uses (so the demo runs the same client,
retries, files and scores as a real judge) but decides by one visible rule instead of a model:

- it prefers the **longer** answer, by words (ratio >= 1.5: ``>>``; >= 1.1: ``>``; else a tie), the
  style-over-substance preference the SOS-Bench paper measured in real judges;
- with the SOS multi-criteria template it writes the criterion verdicts that rule implies: completeness
  and style follow length, conciseness the reverse, and correctness and safety are ties, because the
  rule cannot judge them.

Its verdicts therefore say nothing about quality: they show how a style-driven judge can disagree with
the ground-truth benchmarks beside it. A reply that is not a judging request (no system prompt naming an
"impartial judge", or no two answers to compare) gets a reply without a verdict.

The standard library's ``http.server`` is enough here: one client on loopback, short JSON replies, and
the demo needs no web framework installed. Requests with ``"stream": true`` get server-sent events.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SCRIPTED_JUDGE = "scripted-length-judge"
"""The judge's model name: its judgments go to ``model_judgment/scripted-length-judge/``."""
POLL_S = 0.05  # how often the server looks for shutdown (the default 0.5 s would slow every demo exit)

_SECTION = re.compile(
    r"<\|The Start of Assistant ([AB])'s Answer\|>\n(.*?)\n<\|The End of Assistant \1's Answer\|>", re.DOTALL
)
_REVERSED = {"A>>B": "B>>A", "A>B": "B>A", "A=B": "A=B", "B>A": "A>B", "B>>A": "A>>B"}


def length_verdict(words_a: int, words_b: int) -> str:
    """The scripted rule: the longer answer wins, by how much longer it is."""
    ratio = words_a / max(words_b, 1)
    if ratio >= 1.5:
        return "A>>B"
    if ratio >= 1.1:
        return "A>B"
    if ratio > 1 / 1.1:
        return "A=B"
    return "B>A" if ratio > 1 / 1.5 else "B>>A"


def answer_words(game: str) -> dict[str, int]:
    """Words of each assistant's answer ("A", "B") in a judge's user turn of the Arena-Hard templates."""
    return {m.group(1): len(m.group(2).split()) for m in _SECTION.finditer(game)}


def judgment_text(messages: list[dict[str, Any]]) -> str:
    """The judge's reply to one chat request (see the module doc for the rule)."""
    system = next((str(m.get("content", "")) for m in messages if m.get("role") == "system"), "")
    user = "\n".join(str(m.get("content", "")) for m in messages if m.get("role") == "user")
    answers = answer_words(user)
    if "impartial judge" not in system or set(answers) != {"A", "B"}:
        return "I only compare two assistants' answers; this request has none to compare."
    verdict = length_verdict(answers["A"], answers["B"])
    lines = [
        f"Assistant A's answer has {answers['A']} words, Assistant B's has {answers['B']}. "
        "This scripted judge prefers the longer answer (a style preference, not a reading of the content)."
    ]
    if "Correctness:" in system:
        lines += [
            "Correctness: ((A=B))",
            f"Completeness: (({verdict}))",
            "Safety: ((A=B))",
            f"Conciseness: (({_REVERSED[verdict]}))",
            f"Style: (({verdict}))",
        ]
    return "\n".join([*lines, f"My final verdict is: [[{verdict}]]"])


class ScriptedJudgeServer:
    """The scripted judge on ``http://127.0.0.1:<free port>/v1`` (a context manager starts and stops it)."""

    def __init__(self) -> None:
        self.requests = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                """Quiet: the demo prints its own progress."""

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    self._send(200, {"object": "list", "data": [{"id": SCRIPTED_JUDGE, "object": "model"}]})
                else:
                    self._send(404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self) -> None:
                try:
                    body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                    messages = body["messages"]
                except (ValueError, KeyError, TypeError):
                    self._send(400, {"error": {"message": "expected a JSON chat completion request"}})
                    return
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                with server._lock:
                    server.requests += 1
                text = judgment_text(messages)
                usage = {
                    "prompt_tokens": sum(len(str(m.get("content", ""))) for m in messages) // 4,
                    "completion_tokens": len(text) // 4 + 1,
                }
                usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
                if body.get("stream"):
                    self._stream(str(body.get("model", SCRIPTED_JUDGE)), text, usage)
                    return
                self._send(
                    200,
                    {
                        "id": f"scripted-{server.requests}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model", SCRIPTED_JUDGE),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": text},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": usage,
                    },
                )

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up: nothing to answer
                    pass

            def _stream(self, model: str, text: str, usage: dict[str, int]) -> None:
                base = {"id": "scripted", "object": "chat.completion.chunk", "created": 0, "model": model}
                chunks = [
                    {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": text}}]},
                    {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": usage},
                ]
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    for chunk in chunks:
                        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.write(b"data: [DONE]\n\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(POLL_S,), daemon=True)

    def __enter__(self) -> ScriptedJudgeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._thread.join()
        self._httpd.server_close()
