"""`sosbench judge` under shared use, hostile servers and bad input (issue 12), against the loopback server.

Each test is a case that went wrong before: a second `judge run` on the same folder, judgments filed under
the last part of the judge's name and mixed across templates, `org1/m` and `org2/m` sharing a file, HTTP
reasons dropped and API keys echoed, null/broken/huge replies, an unbounded Retry-After, and bad files
ending in tracebacks. Every failure must be one ``error:`` line, exit 1, with earlier results untouched.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from _fake_endpoint import JUDGE, ScriptedServer, cli, endpoint, error_line, make_bench
from typer.testing import CliRunner

from sosbench.cli._app import app
from sosbench.judge import BenchDir, ChatCaller, EndpointConfig, load_template
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


def test_a_huge_reply_is_cut_at_the_size_cap_and_marked(tmp_path: Path) -> None:
    bench = tmp_path / "bench"
    huge = completion("x" * 20_000_000)
    with ScriptedServer(raw=lambda body, headers: (200, huge, {})) as server:
        result = cli(
            "judge",
            "answer",
            "--model",
            "m",
            "-d",
            str(bench),
            "--limit",
            "1",
            "--max-tokens",
            "100",
            *endpoint(server),
        )
    assert result.exit_code == 0, result.output
    path = bench / "model_answer" / "m.jsonl"
    (row,) = [json.loads(x) for x in path.read_text().splitlines()]
    assert len(row["messages"][1]["content"]["answer"]) == 100 * 32 and row["truncated"] is True
    assert path.stat().st_size < 10_000
    assert "1 reply longer than max_tokens allows, cut and marked truncated" in result.stderr


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
