"""`sosbench judge` under shared use, hostile servers and bad input (issue 12), against the loopback server.

Each test is a case that went wrong before: a second `judge run` on the same folder, judgments filed under
the last part of the judge's name and mixed across templates, `org1/m` and `org2/m` sharing a file, HTTP
reasons dropped and API keys echoed, null/broken/huge replies, an unbounded Retry-After, and bad files
ending in tracebacks. Every failure must be one ``error:`` line, exit 1, with earlier results untouched.
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import json
import os
import subprocess
import sys
import zlib
from collections import Counter
from pathlib import Path

import pytest
import yaml
from _bounded import ALIAS_BOMB, run_bounded
from _fake_endpoint import JUDGE, ScriptedServer, cli, endpoint, error_line, game_bucket, make_bench
from typer.testing import CliRunner

from sosbench.cli._app import app
from sosbench.judge import BenchDir, ChatCaller, EndpointConfig, load_template
from sosbench.judge._client import reply_byte_cap
from sosbench.judge._files import file_stem
from sosbench.judge._judging import model_files
from sosbench.judge._templates import data_file


def run_args(
    bench: Path, server: ScriptedServer, *extra: str, judge: str = JUDGE, models: str = "tiny"
) -> list[str]:
    return [
        "judge",
        "run",
        "--judge",
        judge,
        "--models",
        models,
        "-d",
        str(bench),
        "--limit",
        "2",
        "-t",
        "arena-hard",
        "--max-retries",
        "1",
        *endpoint(server),
        *extra,
    ]


def invoke(*args: str) -> object:
    return CliRunner().invoke(app, list(args))


def completion(content: object) -> bytes:
    choice = {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
    return json.dumps(
        {
            "id": "c",
            "object": "chat.completion",
            "choices": [choice],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1},
        }
    ).encode()


def judgment_bytes(bench: Path, judge: str = JUDGE) -> dict[str, bytes]:
    folder = BenchDir(bench).judgment_dir(judge)
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.jsonl"))} if folder.exists() else {}


# ------------------------------------------------------------------------------------------------------------
# shared use
# ------------------------------------------------------------------------------------------------------------
def test_a_second_judge_run_on_the_same_folder_is_refused_in_one_line(tmp_path: Path) -> None:
    bench = make_bench(tmp_path / "bench")
    folder = BenchDir(bench).judgment_dir(JUDGE)
    holder_code = (
        "import sys\nfrom pathlib import Path\nfrom sosbench._io import folder_lock\n"
        "with folder_lock(Path(sys.argv[1]), 'x'):\n    print('held', flush=True)\n    sys.stdin.read()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", holder_code, str(folder)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"  # the other process holds the folder now
        with ScriptedServer(faults=False) as server:
            refused = invoke(*run_args(bench, server))
            assert server.counts["requests"] == 0
        assert "another sosbench process is writing the judgments in" in error_line(refused)
        assert judgment_bytes(bench) == {}
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    with ScriptedServer(faults=False) as server:
        after = cli(*run_args(bench, server))  # released: the same command now judges, once
        assert after.exit_code == 0, after.output
        assert server.counts["requests"] == 4


@pytest.mark.parametrize("command", ["answer", "perturb"])
def test_a_second_answer_or_perturb_on_the_same_file_is_refused_in_one_line(
    tmp_path: Path, command: str
) -> None:
    bench = make_bench(tmp_path / "bench")
    written = "fresh" if command == "answer" else "tiny@concise"
    target = BenchDir(bench).answer_target(written)
    holder_code = (
        "import sys\nfrom pathlib import Path\nfrom sosbench._io import folder_lock\n"
        "with folder_lock(Path(sys.argv[1]), 'x', file=sys.argv[2]):\n"
        "    print('held', flush=True)\n    sys.stdin.read()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", holder_code, str(target.parent), target.name],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    args = {
        "answer": ["judge", "answer", "--model", "fresh"],
        "perturb": ["judge", "perturb", "--kind", "concise", "--model", "tiny", "--rewriter", "r"],
    }[command] + ["-d", str(bench), "--limit", "2"]
    try:
        assert holder.stdout.readline().strip() == "held"
        with ScriptedServer(faults=False) as server:
            message = error_line(invoke(*args, *endpoint(server)))
            assert server.counts["requests"] == 0  # nothing asked, nothing paid twice
        assert "another sosbench process is writing the" in message and target.name in message
        with ScriptedServer(faults=False) as server:  # other models' answers are not held
            other = cli(
                "judge", "answer", "--model", "other", "-d", str(bench), "--limit", "1", *endpoint(server)
            )
            assert other.exit_code == 0, other.output
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    with ScriptedServer(faults=False) as server:
        assert cli(*args, *endpoint(server)).exit_code == 0 and server.counts["requests"] == 2


def test_judgments_are_keyed_by_the_full_judge_id_and_the_template(tmp_path: Path) -> None:
    bench = make_bench(tmp_path / "bench")
    template = load_template("arena-hard")
    with ScriptedServer(faults=False) as server:
        first = cli(*run_args(bench, server, judge="org1/tinychat"))
        second = cli(*run_args(bench, server, judge="org2/tinychat"))
        assert first.exit_code == 0 and second.exit_code == 0, second.output
        assert "4 games judged (0 already done)" in second.stderr  # not "0 of 4 (4 already judged)"
        assert server.counts["requests"] == 8
        one, two = (BenchDir(bench).judgment_dir(j) for j in ("org1/tinychat", "org2/tinychat"))
        assert one != two and one.parent == two.parent == bench / "model_judgment"
        line = json.loads((one / "tiny.jsonl").read_text().splitlines()[0])
        assert line["judge"] == "org1/tinychat" and line["template_sha256"] == template.sha256
        assert line["template"] == "arena-hard" and len(line["games"]) == 2
        key = json.loads((one / "sosbench-judge.json").read_text())
        assert key == {
            "judge": "org1/tinychat",
            "template": "arena-hard",
            "template_sha256": template.sha256,
            "baseline": "gpt-4-0314",
            "benchmark": "arena-hard-v0.1",
        }
        before = judgment_bytes(bench, "org1/tinychat")

        other = run_args(bench, server, judge="org1/tinychat")
        other[other.index("arena-hard")] = "sos-multicriteria"
        for args in (other, [*other, "--dry-run"]):
            message = error_line(invoke(*args))
            assert "holds judgments of judge 'org1/tinychat', template arena-hard" in message
            assert "; judge 'org1/tinychat', template sos-multicriteria" in message
            assert message.endswith(
                "would mix with them: judge into another --bench-dir, or move that folder away"
            )
        assert server.counts["requests"] == 8 and judgment_bytes(bench, "org1/tinychat") == before

        (one / "tiny.jsonl").write_bytes((two / "tiny.jsonl").read_bytes())  # another judge's file, copied in
        assert "tiny.jsonl:1 holds judgments of judge 'org2/tinychat', template " in error_line(
            invoke(*run_args(bench, server, judge="org1/tinychat"))
        )
    (one / "tiny.jsonl").write_bytes(before["tiny.jsonl"])
    (one / "short.jsonl").write_bytes((two / "tiny.jsonl").read_bytes())
    mixed = error_line(invoke("judge", "score", "--judgments", str(one), "--rounds", "0"))
    assert mixed.startswith(f"error: {one} holds judgments of judge ")
    assert "'org1/tinychat'" in mixed and "'org2/tinychat'" in mixed and "would mix with them" in mixed


def test_a_folder_of_judgments_without_a_key_is_refused_not_extended(tmp_path: Path) -> None:
    bench = make_bench(tmp_path / "bench")
    folder = BenchDir(bench).judgment_dir(JUDGE)
    folder.mkdir(parents=True)
    legacy = {
        "question_id": "x",
        "model": "tiny",
        "judge": JUDGE,
        "games": [{"score": "A>B"}, {"score": "B>A"}],
    }
    (folder / "tiny.jsonl").write_text(json.dumps(legacy) + "\n")
    with ScriptedServer(faults=False) as server:
        message = error_line(invoke(*run_args(bench, server)))
        assert server.counts["requests"] == 0
    assert "record no judge template" in message and "another --bench-dir" in message
    assert (folder / "tiny.jsonl").read_text() == json.dumps(legacy) + "\n"


def test_models_sharing_a_last_name_part_get_their_own_files_and_escapes_are_refused(tmp_path: Path) -> None:
    bench = make_bench(tmp_path / "bench")
    answers = BenchDir(bench)
    for name, source in (("org1/m", "tiny"), ("org2/m", "huge")):
        rows = [json.loads(x) for x in (bench / "model_answer" / f"{source}.jsonl").read_text().splitlines()]
        target = answers.answer_target(name)
        target.write_text("".join(json.dumps({**r, "model": name}) + "\n" for r in rows))
    assert answers.answer_target("org1/m") != answers.answer_target("org2/m")
    with ScriptedServer(faults=False) as server:
        result = cli(*run_args(bench, server, models="org1/m,org2/m"))
        assert result.exit_code == 0, result.output
        assert server.counts["requests"] == 8 and "8 games judged" in result.stderr
        files = {
            p.name: [json.loads(x)["model"] for x in p.read_text().splitlines()]
            for p in BenchDir(bench).judgment_dir(JUDGE).glob("*.jsonl")
        }
        assert sorted(files.values()) == [["org1/m", "org1/m"], ["org2/m", "org2/m"]]
        for bad in ("../../x", "/abs/m", "org/../../x"):
            assert "would leave its folder" in error_line(invoke(*run_args(bench, server, models=bad)))
            assert "would leave its folder" in error_line(
                invoke("judge", "answer", "--model", bad, "-d", str(bench))
            )
        assert server.counts["requests"] == 8
    assert not (tmp_path / "x.jsonl").exists() and not (bench.parent / "x.jsonl").exists()
    assert file_stem("huge@concise") == "huge@concise" and file_stem("org/m@concise").endswith("@concise")


def test_names_too_long_for_a_file_name_get_short_distinct_stems(tmp_path: Path) -> None:

    long = "@".join(letter * 110 for letter in "abc")  # each part fits a file name, the whole does not
    assert len(file_stem(long)) <= 200 and file_stem(long) != file_stem(long[:-1])
    bench = make_bench(tmp_path / "bench")
    with ScriptedServer(faults=False) as server:
        answered = cli(
            "judge", "answer", "--model", long, "-d", str(bench), "--limit", "1", *endpoint(server)
        )
        assert answered.exit_code == 0, answered.output
        judged = cli(*run_args(bench, server, judge="j" * 300, models=long), "--limit", "1")
        assert judged.exit_code == 0, judged.output
        assert server.counts["requests"] == 3


def test_perturb_base_url_help_names_the_rewriter_not_the_judge() -> None:
    import typer

    command = typer.main.get_command(app).commands["judge"].commands["perturb"]  # type: ignore[attr-defined]
    helps = {p.name: p.help for p in command.params}
    assert "rewriter" in helps["base_url"] and "judge" not in helps["base_url"]
    assert "rewriter" in helps["api_key"] and "judge" not in helps["api_key"]


def test_dry_run_uses_the_templates_own_max_tokens_cap(tmp_path: Path) -> None:
    bench = make_bench(tmp_path / "bench")
    config = yaml.safe_load(data_file("judge", "judge_arena_hard_default.yaml").read_text(encoding="utf-8"))
    config["max_tokens"] = 48
    capped = tmp_path / "short_judge.yaml"
    capped.write_text(yaml.safe_dump(config), encoding="utf-8")
    result = cli(
        "judge",
        "run",
        "--judge",
        JUDGE,
        "--models",
        "tiny",
        "-d",
        str(bench),
        "--limit",
        "3",
        "-t",
        str(capped),
        "--dry-run",
    )
    assert result.exit_code == 0, result.output
    assert (
        "completion tokens:  ~288 (48 per call (the template's max_tokens))" in result.stdout
    )  # 6 calls x 48
    plain = cli(
        "judge", "run", "--judge", JUDGE, "--models", "tiny", "-d", str(bench), "--limit", "3", "--dry-run"
    )
    assert "completion tokens:  ~4,200 (700 per call)" in plain.stdout


# ------------------------------------------------------------------------------------------------------------
# what servers send back
# ------------------------------------------------------------------------------------------------------------
def test_http_refusals_show_the_servers_reason_with_keys_redacted(tmp_path: Path) -> None:
    bench = make_bench(tmp_path / "bench")
    key = "hunter2-very-secret"

    def refuse(body: dict, headers: dict) -> tuple[int, bytes, dict]:
        echoed = headers.get("Authorization", "")
        if "system" not in json.dumps(body["messages"][:1]):
            return 401, json.dumps({"error": {"message": f"key {key} is revoked"}}).encode(), {}
        reason = f"model '{body['model']}' does not exist (you sent {echoed}; also sk-abcdefghijklmnop)"
        return 400, json.dumps({"detail": reason}).encode(), {}

    with ScriptedServer(raw=refuse) as server:
        args = run_args(bench, server)
        args[args.index("test-key")] = key
        message = error_line(invoke(*args))
        assert f"HTTP 400: model '{JUDGE}' does not exist (you sent Bearer ***; also sk-***)" in message
        answer = [
            "judge",
            "answer",
            "--model",
            "fresh",
            "-d",
            str(bench),
            "--limit",
            "1",
            "--base-url",
            server.url,
            "--api-key",
            key,
            "--max-retries",
            "0",
        ]
        refused = error_line(invoke(*answer))
        assert "HTTP 401: key *** is revoked" in refused
    assert key not in message + refused and "abcdefghijklmnop" not in message


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (completion(None), "the reply has no text (content None"),
        (b"<html>502 Bad Gateway</html>", "the reply is not JSON"),
        (b'{"id": "x", "object": "chat.completion"}', "the reply has no choices"),
        (b'{"choices": []}', "the reply has no choices"),
        (b"[" * 200_000, "the reply nests deeper than 100 levels"),
    ],
)
def test_unusable_replies_fail_their_item_in_one_line_and_store_nothing(
    tmp_path: Path, payload: bytes, reason: str
) -> None:
    bench = make_bench(tmp_path / "bench")
    with ScriptedServer(faults=False) as server:
        first = cli(*run_args(bench, server), "--limit", "1")  # one good question first
        assert first.exit_code == 0, first.output
    before = judgment_bytes(bench)
    with ScriptedServer(raw=lambda body, headers: (200, payload, {})) as server:
        message = error_line(invoke(*run_args(bench, server)))
        assert server.counts["requests"] == 2  # each unusable reply fails its game once: no blind retries
        assert "2 games kept failing (tiny " in message and reason in message
        answered = error_line(
            invoke("judge", "answer", "--model", "fresh", "-d", str(bench), "--limit", "2", *endpoint(server))
        )
        assert "2 questions kept failing" in answered and reason in answered
    assert judgment_bytes(bench) == before
    fresh = bench / "model_answer" / "fresh.jsonl"
    assert not fresh.exists() or fresh.read_text() == ""


def test_retry_after_is_capped(tmp_path: Path) -> None:
    seen: list[int] = []

    def slow_down(body: dict, headers: dict) -> tuple[int, bytes, dict] | None:
        seen.append(1)
        return (
            (429, b'{"error": {"message": "slow down"}}', {"Retry-After": "3600"}) if len(seen) == 1 else None
        )

    async def ask(url: str) -> str:
        caller = ChatCaller(
            EndpointConfig("m", url, "k", timeout=30, max_retries=1, backoff=0.01, backoff_max=0.2)
        )
        try:
            reply = await caller.complete([{"role": "user", "content": "hi"}], temperature=0, max_tokens=10)
        finally:
            await caller.aclose()
        assert caller.stats.retries == 1
        return reply.text

    with ScriptedServer(raw=slow_down) as server:
        text = asyncio.run(
            asyncio.wait_for(ask(server.url), 60)
        )  # an uncapped Retry-After would wait an hour
    assert text.startswith("m answers:") and len(seen) == 2


def test_a_long_reply_is_cut_and_marked_and_one_over_the_byte_cap_fails_alone(tmp_path: Path) -> None:
    bench = tmp_path / "bench"
    long = completion("x" * (100 * 32 + 5_000))  # more text than 100 tokens make, far under the byte cap
    huge = completion("x" * 20_000_000)  # over reply_byte_cap(100): not even read whole
    replies = iter([long, huge])
    with ScriptedServer(raw=lambda body, headers: (200, next(replies), {})) as server:
        args = ["judge", "answer", "--model", "m", "-d", str(bench), "--limit", "2", "--max-tokens", "100"]
        message = error_line(invoke(*args, "--parallel", "1", *endpoint(server)))
        assert server.counts["requests"] == 2  # the huge reply is not asked for again
    assert "1 questions kept failing (" in message
    assert f": the reply is over {reply_byte_cap(100):,} bytes, more than max_tokens allows" in message
    path = bench / "model_answer" / "m.jsonl"
    (row,) = [json.loads(x) for x in path.read_text().splitlines()]
    assert len(row["messages"][1]["content"]["answer"]) == 100 * 32 and row["truncated"] is True


def _compressed(size: int, tail: bytes, wbits: int) -> bytes:
    """``size`` bytes of JSON whitespace and then ``tail``, compressed without ever holding them whole."""
    packer = zlib.compressobj(1, zlib.DEFLATED, wbits)
    block = b" " * (1 << 20)
    return (
        b"".join(packer.compress(block) for _ in range(size >> 20)) + packer.compress(tail) + packer.flush()
    )


def test_replies_over_the_cap_fail_alone_in_bounded_memory_whatever_their_encoding(tmp_path: Path) -> None:
    """Gzip and deflate bombs (512 MiB each once decoded) and a 400 MiB reply, eight requests in flight,
    under a 3 GiB address-space limit: each such game fails alone, is asked once, and the others are judged.
    Every one of these replies would parse as a valid judgment if it were read whole."""
    bench = make_bench(tmp_path / "bench")
    verdict = completion("My final verdict is: [[A>B]]")
    hostile = {
        "gzip": (_compressed(512 << 20, verdict, 16 + zlib.MAX_WBITS), {"Content-Encoding": "gzip"}),
        "deflate": (_compressed(512 << 20, verdict, zlib.MAX_WBITS), {"Content-Encoding": "deflate"}),
    }
    served: Counter[str] = Counter()

    def reply(body: dict, headers: dict) -> tuple[int, object, dict] | None:
        kind = ("gzip", "deflate", "huge", None)[game_bucket(body["messages"][1]["content"]) % 4]
        if kind is None:
            return None
        served[kind] += 1
        if kind == "huge":
            return 200, itertools.chain(itertools.repeat(b" " * (1 << 20), 400), [verdict]), {}
        return 200, hostile[kind][0], hostile[kind][1]

    with ScriptedServer(faults=False, raw=reply) as server:
        args = run_args(bench, server, "--parallel", "8", models="tiny,long")
        args[args.index("--limit") + 1] = "5"
        (outcome,) = run_bounded([args], tmp_path, timeout=300)
        failed = sum(served.values())
        assert outcome.exception is None and outcome.exit_code == 1, outcome.stderr
        message = error_line(outcome)
        assert f"{failed} games kept failing" in message and "more than max_tokens allows" in message
        assert set(served) == {"gzip", "deflate", "huge"} and failed < 20  # some of each, and good games
        assert server.counts["requests"] == 20  # every game once: no retry of a reply over the cap
        assert outcome.max_rss_mib < 1024, outcome.max_rss_mib
        folder = BenchDir(bench).judgment_dir(JUDGE)
        assert sum(len(p.read_text().splitlines()) for p in folder.glob("*.jsonl")) > 0
    with ScriptedServer(faults=False) as server:  # a sane server: the rerun asks only the failed games
        rerun = cli(*run_args(bench, server, models="tiny,long"), "--limit", "5")
        assert rerun.exit_code == 0 and server.counts["requests"] == failed, rerun.output


def test_compressed_replies_under_the_cap_are_read_and_unknown_encodings_fail_alone(tmp_path: Path) -> None:
    bench = tmp_path / "bench"
    text = "a compressed answer " * 50
    body = completion(text)
    replies = {
        "gzip": (zlib.compress(body, wbits=16 + zlib.MAX_WBITS), {"Content-Encoding": "gzip"}),
        "deflate": (zlib.compress(body), {"Content-Encoding": "deflate"}),
        "raw deflate": (zlib.compress(body, wbits=-zlib.MAX_WBITS), {"Content-Encoding": "deflate"}),
        "br": (body, {"Content-Encoding": "br"}),
    }
    order = iter(replies.values())
    with ScriptedServer(raw=lambda body, headers: (200, *next(order))) as server:
        args = ["judge", "answer", "--model", "m", "-d", str(bench), "--limit", "4", "--parallel", "1"]
        message = error_line(invoke(*args, *endpoint(server)))
        assert server.counts["requests"] == 4
    assert (
        "1 questions kept failing (" in message
        and "the reply is encoded as 'br', not gzip, deflate" in message
    )
    rows = [json.loads(x) for x in (bench / "model_answer" / "m.jsonl").read_text().splitlines()]
    assert [r["messages"][1]["content"]["answer"] for r in rows] == [text] * 3


def test_a_lone_surrogate_in_a_reply_is_stored_escaped_and_nothing_dies_on_it(tmp_path: Path) -> None:
    bench = make_bench(tmp_path / "bench")
    odd = completion("\ud800 odd \udfff text. My final verdict is: [[A>B]]")  # valid JSON, escaped
    assert b"\\ud800" in odd
    with ScriptedServer(faults=False, raw=lambda body, headers: (200, odd, {})) as server:
        answered = cli(
            "judge", "answer", "--model", "odd", "-d", str(bench), "--limit", "2", *endpoint(server)
        )
        assert answered.exit_code == 0, answered.output
        judged = cli(*run_args(bench, server))
        assert judged.exit_code == 0, judged.output
        again = cli(*run_args(bench, server))
        assert again.exit_code == 0 and server.counts["requests"] == 6  # the rerun asks nothing
    answers = (bench / "model_answer" / "odd.jsonl").read_bytes()
    assert b"\\ud800" in answers and answers.decode("utf-8")  # escaped, and the file stays UTF-8
    assert BenchDir(bench).answers("odd")[BenchDir(bench).questions()[0].uid].text.startswith("\ud800 odd")
    games = [
        json.loads(x) for x in (BenchDir(bench).judgment_dir(JUDGE) / "tiny.jsonl").read_text().splitlines()
    ]
    assert games and all("\ud800 odd \udfff" in g["games"][0]["judgment"] for g in games)
    scored = cli("judge", "score", "--judgments", str(BenchDir(bench).judgment_dir(JUDGE)), "--rounds", "0")
    assert scored.exit_code == 0, scored.output

    sent: list[str] = []

    def record(body: dict, headers: dict) -> None:
        sent.append(json.dumps(body["messages"], ensure_ascii=False))

    with ScriptedServer(faults=False, raw=record) as server:  # the odd answers go out to a judge
        judged = cli(*run_args(bench, server, models="odd"))
        assert judged.exit_code == 0, judged.output
    assert sent and all("\ufffd odd \ufffd" in text for text in sent)  # no UTF-8 form: replaced on the way


# ------------------------------------------------------------------------------------------------------------
# bad input files
# ------------------------------------------------------------------------------------------------------------
def test_binary_and_malformed_input_files_end_in_one_line(tmp_path: Path) -> None:
    bench = make_bench(tmp_path / "bench")
    dry = ["judge", "run", "--judge", JUDGE, "--models", "tiny", "-d", str(bench), "--dry-run"]
    answers = bench / "model_answer" / "tiny.jsonl"
    good_answers = answers.read_bytes()
    answers.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe binary")
    assert f"{answers} is not UTF-8 text" in error_line(invoke(*dry))
    answers.write_bytes(good_answers)

    questions = bench / "question.jsonl"
    good_questions = questions.read_bytes()
    questions.write_bytes("caf\xe9\n".encode("latin-1"))
    assert f"{questions} is not UTF-8 text" in error_line(invoke(*dry))
    for row in (
        {"uid": "q1", "prompt": 5},
        {"uid": "q1", "turns": "not a list"},
        {"uid": None, "prompt": "p"},
        {"question_id": "q1", "turns": [7]},
    ):
        questions.write_text(json.dumps(row) + "\n" + good_questions.decode())
        assert f"{questions}:1: a question needs uid" in error_line(invoke(*dry))
    questions.write_text(good_questions.decode() + "[1, 2]\n")
    assert "expected a JSON object per line" in error_line(invoke(*dry))
    questions.write_bytes(good_questions)

    folder = tmp_path / "judgments"
    folder.mkdir()
    (folder / "m.jsonl").write_bytes(b"\x00\x01\x02\xff\n")
    assert "is not UTF-8 text" in error_line(invoke("judge", "score", "--judgments", str(folder)))
    (folder / "m.jsonl").write_text(
        json.dumps({"question_id": "q", "model": "m", "games": ["A>B", "B>A"]}) + "\n"
    )
    assert "a list of game objects" in error_line(invoke("judge", "score", "--judgments", str(folder)))
    (folder / "m.jsonl").write_text('{"question_id": "q", "model": "m", "games": [{}]\n{"broken"\n')
    assert f"{folder / 'm.jsonl'}:1: not valid JSON" in error_line(
        invoke("judge", "score", "--judgments", str(folder))
    )


def test_a_broken_journal_ends_in_one_line_naming_it(tmp_path: Path) -> None:
    bench = make_bench(tmp_path / "bench")
    with ScriptedServer(faults=False) as server:
        assert cli(*run_args(bench, server), "--limit", "1").exit_code == 0
        before = judgment_bytes(bench)
        journal = model_files(BenchDir(bench), JUDGE, "tiny").journal
        journal.parent.mkdir(parents=True, exist_ok=True)
        for text, expected in (
            ('{"question_id": "q", "gam\n{"question_id": "q"}\n', f"{journal}:1: not valid JSON"),
            ('{"question_id": "q", "model": "tiny"}\n', f"{journal}:1: not a judge-call record"),
            (
                json.dumps(
                    {
                        "question_id": "q",
                        "model": "tiny",
                        "game": 0,
                        "call": 0,
                        "judge": JUDGE,
                        "template_sha256": "0" * 64,
                        "text": "[[A>B]]",
                    }
                )
                + "\n",
                "delete the journal",
            ),
        ):
            journal.write_text(text)
            message = error_line(invoke(*run_args(bench, server)))
            assert expected in message, message
        assert server.counts["requests"] == 2
    assert judgment_bytes(bench) == before


def test_output_that_is_a_folder_or_under_a_file_is_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "j"
    folder.mkdir()
    games = [{"score": "B>A"}, {"score": "A>B"}]
    (folder / "m.jsonl").write_text(
        json.dumps({"question_id": "q", "model": "m", "judge": "j", "games": games}) + "\n"
    )
    blocker = tmp_path / "a-file"
    blocker.write_text("keep me")
    for output in (tmp_path, blocker / "board.csv"):
        for command in (
            ["judge", "score", "--judgments", str(folder), "--rounds", "0", "--output", str(output)],
            ["judge", "audit", "--judgments", str(folder), "--output", str(output)],
        ):
            assert "cannot write" in error_line(invoke(*command))
    assert "not a folder" in error_line(
        invoke("judge", "run", "--judge", JUDGE, "--models", "m", "-d", str(blocker))
    )
    assert blocker.read_text() == "keep me"


def test_a_full_disk_ends_in_one_line_and_a_rerun_finishes_without_duplicates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = make_bench(tmp_path / "bench")
    with ScriptedServer(faults=False) as server:
        assert cli(*run_args(bench, server), "--limit", "1").exit_code == 0
        before = judgment_bytes(bench)["tiny.jsonl"]

        def no_space(fd: int) -> None:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        with monkeypatch.context() as patch:
            patch.setattr(os, "fsync", no_space)
            message = error_line(invoke(*run_args(bench, server)))
        assert "No space left on device" in message
        assert judgment_bytes(bench)["tiny.jsonl"].startswith(before)  # what was there is kept
        rerun = cli(*run_args(bench, server))
        assert rerun.exit_code == 0, rerun.output
    lines = [json.loads(x) for x in judgment_bytes(bench)["tiny.jsonl"].decode().splitlines()]
    assert (
        sorted(x["question_id"] for x in lines) == sorted({x["question_id"] for x in lines})
        and len(lines) == 2
    )


def test_bad_templates_are_one_line_errors(tmp_path: Path) -> None:
    bench = make_bench(tmp_path / "bench")
    path = tmp_path / "judge.yaml"
    path.write_text(
        "max_token: 48\n" + data_file("judge", "judge_arena_hard_default.yaml").read_text(encoding="utf-8")
    )
    message = error_line(
        invoke(
            "judge",
            "run",
            "--judge",
            JUDGE,
            "--models",
            "tiny",
            "-d",
            str(bench),
            "-t",
            str(path),
            "--dry-run",
        )
    )
    assert f"{path}: max_token: Extra inputs are not permitted" in message


def test_a_template_that_is_an_alias_bomb_or_a_fifo_is_one_line_at_once(tmp_path: Path) -> None:
    import time

    bench = make_bench(tmp_path / "bench")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(ALIAS_BOMB)
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    dry = ["judge", "run", "--judge", JUDGE, "--models", "tiny", "-d", str(bench), "--dry-run", "-t"]
    started = time.monotonic()
    assert "is it an alias bomb?" in error_line(invoke(*dry, str(bomb)))
    assert "nor a YAML file" in error_line(invoke(*dry, str(fifo)))
    assert time.monotonic() - started < 30  # not minutes of expansion, not a wait for a writer
