"""Coding scorers and the sandbox: LiveBench's execution semantics, and hostile answers contained.

No 2024-06-24 coding question is available offline, so the questions here are written in the
LiveCodeBench row format; the official-score agreement on constructed answers is checked in
tests/livebench/test_livebench_official_cases.py. Attacks are in tests/_sandbox_attacks.py.
"""

from __future__ import annotations

import base64
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path
from typing import Any

import _sandbox_attacks as attacks
import pytest
from _cli import sosbench
from _paths import REPO, TESTS

from sosbench.errors import SosbenchError
from sosbench.livebench.scorers._coding import (
    call_matches,
    decode_test_cases,
    extract_code,
    run_tests,
    score_coding,
    stdout_matches,
)
from sosbench.sandbox import SandboxLimits, SandboxMode, check_available

SMALL = SandboxLimits(memory_bytes=1024**3, max_output_bytes=1024**2)
needs_bwrap = pytest.mark.skipif(
    shutil.which("bwrap") is None, reason="bubblewrap is not installed (.ci/run installs it)"
)


def _private(tests: list[dict[str, str]]) -> str:
    return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(tests)))).decode()


def _call_question(func: str, tests: list[tuple[str, str]]) -> dict[str, Any]:
    cases = [{"input": i, "output": o, "testtype": "functional"} for i, o in tests]
    return {
        "question_id": func,
        "task": "LCB_generation",
        "turns": [func],
        "public_test_cases": json.dumps(cases[:1]),
        "private_test_cases": _private(cases[1:]),
        "original_json": {"metadata": json.dumps({"func_name": func})},
    }


def _fenced(code: str) -> str:
    return f"Here is my solution:\n```python\n{code}\n```\nDone."


def test_code_extraction_uses_the_first_two_fence_lines() -> None:
    assert extract_code("x\n```python\na\nb\n```\n```\nc\n```") == "a\nb"
    assert extract_code("```python\nonly one fence") == ""


def test_private_tests_decode_and_refuse_pickled_objects() -> None:
    tests = [{"input": "1", "output": "2", "testtype": "stdin"}]
    assert decode_test_cases(_private(tests)) == tests
    hostile = base64.b64encode(zlib.compress(pickle.dumps(os.getcwd))).decode()
    with pytest.raises(pickle.UnpicklingError, match="refusing to unpickle"):
        decode_test_cases(hostile)


@pytest.mark.parametrize(
    ("output", "expected", "official"),
    [
        ("7 \n", "7\n", True),  # stripped lines
        ("1\n\n2\n", "1\n2\n", True),  # blank output lines dropped
        ("3.0\n", "3\n", True),  # numbers per line, even when the expected one is whole
        ("0.3333333\n", "0.33333333\n", True),
        ("1 2\n", "2 1\n", False),  # no token sets: order matters
        ("2\n1\n", "1\n2\n", False),
        ("1\n1\n2\n", "1\n2\n", False),
        ("1  2\n", "1 2\n", False),  # tokens are not re-split
        ("0.333\n", "0.33333333\n", False),
        ("1.5 2.5\n", "1.5 2.50000001\n", False),  # tolerance only for one number per line
    ],
)
def test_stdout_comparison_follows_the_official_rules(output: str, expected: str, official: bool) -> None:
    assert stdout_matches(output, expected) is official


def test_functional_comparison_converts_only_a_top_level_tuple() -> None:
    assert call_matches((0, 1), "[0, 1]")
    assert call_matches(7, "[7]")  # the first element of a list counts too
    assert not call_matches([(1, 4), (2, 3)], "[[1, 4], [2, 3]]")  # list of tuples: compared to element 0
    assert call_matches({1: "a"}, '{"1": "a"}')  # int keys restored


@needs_bwrap
def test_one_process_per_answer_keeps_state_across_test_cases() -> None:
    counter = (
        "class Solution:\n    calls = []\n    def f(self, x):\n        self.calls.append(x)\n"
        "        return len(self.calls)"
    )
    question = _call_question("f", [("0", "1"), ("0", "2"), ("0", "3")])
    assert score_coding(question, _fenced(counter), corrected=False, limits=SMALL) == 1.0
    assert not run_tests(
        "def f(x):\n    return 1",
        [{"input": "0", "output": "1"}] * 2 + [{"input": "0", "output": "2"}],
        "f",
        limits=SMALL,
    )


@needs_bwrap
def test_the_answer_runs_on_the_scorer_interpreter_with_its_packages() -> None:
    probe = "import sys, numpy\nprint(sys.executable == SCORER and sys.version == VERSION)"
    code = probe.replace("SCORER", repr(sys.executable)).replace("VERSION", repr(sys.version))
    assert run_tests(code, [{"input": "", "output": "True"}], None, limits=SMALL)


@needs_bwrap
def test_sandbox_sees_no_host_folders(tmp_path: Path) -> None:
    (tmp_path / "question.jsonl").write_text("{}", encoding="utf-8")
    hidden = [str(tmp_path), str(TESTS), "/home", "/var", "/run", "/dev/shm/x"]
    code = (
        f"import os\nseen = [p for p in {hidden!r} if os.path.exists(p)]\n"
        "print(seen, sorted(p for p in os.listdir('/proc') if p.isdigit()), os.environ.get('HOME'))"
    )
    assert run_tests(code, [{"input": "", "output": "[] ['1', '2'] /tmp"}], None, limits=SMALL)


def test_missing_bubblewrap_fails_at_once_with_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    check_available.cache_clear()
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(SosbenchError, match=r"apt-get install bubblewrap.*--sandbox none"):
        check_available(SandboxMode.BWRAP)
    check_available(SandboxMode.NONE)  # the explicit opt-out needs nothing
    check_available.cache_clear()


def test_missing_bubblewrap_stops_livebench_score_before_scoring(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path)}  # no bwrap on this PATH
    done, rows = _score_cli(tmp_path, [attacks.question("q")], attacks.HONEST, env=env)
    assert done.returncode != 0 and rows == []
    assert done.stderr.strip().splitlines()[-1].startswith("error: ") and "bubblewrap" in done.stderr
    unsafe, rows = _score_cli(tmp_path, [attacks.question("q")], attacks.HONEST, "--sandbox", "none", env=env)
    assert unsafe.returncode == 0, unsafe.stderr
    assert "unsandboxed" in unsafe.stderr
    assert [(row["score"], row["sandbox"]) for row in rows] == [(1.0, "none")]


@needs_bwrap
def test_the_grading_exploit_works_without_the_sandbox_and_not_with_it(tmp_path: Path) -> None:
    """The attack is real: unsandboxed, it finds the question file on the scorer's command line, reads
    the private tests and scores 1."""
    for sandbox, score in (("none", 1.0), ("bwrap", 0.0)):
        done, rows = _score_cli(
            tmp_path, [attacks.question("exploit")], attacks.EXPLOIT, "--sandbox", sandbox
        )
        assert done.returncode == 0, done.stderr
        assert [row["score"] for row in rows] == [score], sandbox


def _score_cli(
    folder: Path, questions: list[Any], code: str, *options: str, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    """``sosbench livebench score`` on ``questions`` (rows written as given), each answered by ``code``."""
    (folder / "questions.jsonl").write_text(
        "".join(json.dumps(q) + "\n" for q in questions), encoding="utf-8"
    )
    ids = [q["question_id"] for q in questions if isinstance(q, dict) and "question_id" in q]
    answers = [
        {"question_id": i, "model_id": "m", "choices": [{"index": 0, "turns": [_fenced(code)]}]} for i in ids
    ]
    (folder / "answers.jsonl").write_text("".join(json.dumps(a) + "\n" for a in answers), encoding="utf-8")
    output = folder / "scores.jsonl"
    output.unlink(missing_ok=True)
    done = sosbench(
        *("livebench", "score", "-q", str(folder / "questions.jsonl"), "-a", str(folder / "answers.jsonl")),
        *("-o", str(output), "--workers", "1", *options),
        env=env,
    )
    rows = [json.loads(line) for line in output.read_text().splitlines()] if output.exists() else []
    return done, rows


ATTACK_MEMORY = 3 * 1024**3
"""The hard address-space limit (``prlimit --as``) every attack run is under, scorer and sandboxes alike."""
ATTACK_TIME_S = 1500


def _check_contained(outcome: dict[str, Any]) -> None:
    assert outcome["cli_returncode"] == 0, outcome["cli_stderr"]
    for path, scores in outcome["scores"].items():
        assert len(scores) == len(attacks.ATTACKS) + 14, path
        for name, values in scores.items():
            assert values == ([1.0] if name.startswith("honest") else [0.0]), (path, name)
    assert outcome["escaped"] == [] and outcome["new_tmp_files"] == [] and outcome["processes_left"] == []


def _attack_command(workdir: Path) -> list[str]:
    """The attack script under a hard 3 GiB address-space limit (a limit the docs support)."""
    if shutil.which("prlimit") is None:
        pytest.skip("util-linux prlimit is needed to bound the attack run")
    script = str(Path(attacks.__file__).resolve())
    return ["prlimit", f"--as={ATTACK_MEMORY}", "--", sys.executable, script, str(workdir)]


@pytest.mark.slow
@needs_bwrap
@pytest.mark.skipif(os.geteuid() != 0, reason="the root case needs root; the ordinary-user case runs instead")
def test_attacks_are_contained_as_root(tmp_path: Path) -> None:
    done = subprocess.run(
        _attack_command(tmp_path / "work"), capture_output=True, text=True, timeout=ATTACK_TIME_S, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    _check_contained(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.slow
@needs_bwrap
def test_attacks_are_contained_as_an_ordinary_user(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        done = subprocess.run(
            _attack_command(tmp_path / "work"),
            capture_output=True,
            text=True,
            timeout=ATTACK_TIME_S,
            check=False,
        )
    else:
        # Not under pytest's /tmp/pytest-of-root: any other pytest session resets that folder to 0700,
        # which would lock uid 65534 out of its own work folder mid-test.
        workdir = Path(tempfile.mkdtemp(prefix="sosbench-nobody-", dir="/tmp"))
        try:
            done = _run_as_nobody(_attack_command(workdir / "work"), workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-3000:]
    _check_contained(json.loads(done.stdout.strip().splitlines()[-1]))


def _run_as_nobody(command: list[str], workdir: Path) -> subprocess.CompletedProcess[str]:
    """Run ``command`` as uid 65534. Folders under /root (mode 0700) that it needs (the interpreter, this
    checkout) are bound into a private mount namespace, so nothing on the host changes."""
    if shutil.which("unshare") is None or shutil.which("setpriv") is None:
        pytest.skip("util-linux unshare/setpriv are needed to run as an ordinary user")
    for folder in [workdir, *workdir.parents]:
        if folder == Path("/tmp") or folder == Path("/"):
            break
        folder.chmod(0o755)
    workdir.chmod(0o777)
    needed = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, REPO)}
    under_root = sorted(str(p) for p in needed if p.is_relative_to("/root"))
    view = workdir / ".root-view"
    binds = "".join(f"mkdir -p {p} && mount --bind {view}{p[len('/root') :]} {p}\n" for p in under_root)
    shell = (
        f"set -e\nmkdir -p {view}\nmount --bind /root {view}\n"
        f"mount -t tmpfs -o mode=755 tmpfs /root\n{binds}"
        f'exec setpriv --reuid=65534 --regid=65534 --clear-groups env HOME={workdir} "$@"\n'
    )
    if not under_root:
        shell = f'exec setpriv --reuid=65534 --regid=65534 --clear-groups env HOME={workdir} "$@"\n'
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", shell, "sh", *command],
        capture_output=True,
        text=True,
        timeout=ATTACK_TIME_S,
        check=False,
    )


@needs_bwrap
def test_scoring_works_under_a_low_hard_ulimit_v() -> None:
    """Clusters often set a hard address-space limit; the sandbox's default stays below it."""
    script = (
        f"import json, sys\nsys.path.insert(0, {str(TESTS)!r})\nimport _sandbox_attacks as "
        "a\n"
        "from sosbench.livebench import score_many\n"
        "print(json.dumps(score_many([(a.question('q'), a.fenced('import numpy\\n' + a.HONEST))], "
        "workers=1)))"
    )
    limit = 1536 * 1024**2
    command = ["sh", "-c", f'ulimit -v {limit // 1024} && exec "$@"', "sh", sys.executable, "-c", script]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [1.0]


def _stdout_matches_with_lists(output: str, expected: str) -> bool:
    """The comparison as LiveBench wrote it (and sosbench did until it streamed): whole lists of lines."""
    import numpy as np

    lines = output.splitlines()
    if "\n".join(lines).strip() == expected.strip():
        return True
    if "\n".join(line.strip() for line in lines).strip() == expected.strip():
        return True
    want = [line.strip() for line in expected.split("\n") if line]
    if lines in ([expected], want):
        return True
    lines = [line for line in lines if line]
    if lines == want:
        return True
    if all(got.isdigit() and wanted.isdigit() for got, wanted in zip(lines, want, strict=False)):
        return False
    try:
        got_numbers, want_numbers = [float(line) for line in lines], [float(line) for line in want]
    except ValueError:
        return False
    return len(got_numbers) == len(want_numbers) and bool(np.allclose(got_numbers, want_numbers))


def test_streamed_stdout_comparison_agrees_with_the_list_based_one() -> None:
    """20,000 random outputs over the characters the rules treat specially (every line break
    str.splitlines knows, whitespace, digits, floats, inf/nan): same verdict as LiveBench's lists."""
    import random

    pieces = ["7", "3", "3.0", "1e-9", "-0", "inf", "-inf", "nan", "0.3333333", "x", "1 2", "12", "007"]
    breaks = ["\n", "\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", " ", "\t", "\xa0", "\n\n", ""]
    rng = random.Random(0)

    def text(parts: int) -> str:
        return "".join(rng.choice(pieces) + rng.choice(breaks) for _ in range(rng.randrange(parts)))

    verdicts = []
    for _ in range(20_000):
        expected = text(4)
        output = rng.choice([text(5), expected, expected + rng.choice(breaks), " " + expected.upper()])
        verdict = stdout_matches(output, expected)
        assert verdict == _stdout_matches_with_lists(output, expected), (output, expected)
        verdicts.append(verdict)
    assert 0.2 < sum(verdicts) / len(verdicts) < 0.8  # both verdicts are well exercised


def test_bad_question_rows_fail_alone(tmp_path: Path) -> None:
    """A question row that is a JSON list, one without question_id, and one whose private tests are not
    base64: each is one line (or a 0 with its reason), and the good question is still scored."""
    good, corrupt = attacks.question("good"), attacks.question("corrupt")
    corrupt["private_test_cases"] = "eJz-not-base64!"
    rows = [["not", "a", "question"], good, {"task": "LCB_generation", "turns": ["x"]}, corrupt]
    done, scores = _score_cli(tmp_path, rows, attacks.HONEST)
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning: ")]
    assert "questions.jsonl:1: a JSON list, not a question object; row skipped" in warnings[0]
    assert "questions.jsonl:3: no question_id; row skipped" in warnings[1]
    assert "scoring failed for 1 answer(s)" in warnings[2] and "corrupt" in warnings[2]
    by_id = {row["question_id"]: row for row in scores}
    assert by_id["good"]["score"] == 1.0 and "error" not in by_id["good"]
    assert by_id["corrupt"]["score"] == 0.0 and "neither JSON nor base64" in by_id["corrupt"]["error"]
    assert by_id["good"]["sandbox_budget"] == check_available()


IGNORES_THE_ALARM = """import signal, time
signal.signal(signal.SIGALRM, signal.SIG_IGN)
a, b = map(int, input().split())
time.sleep(7)
print(a + b)"""


@pytest.mark.slow
@needs_bwrap
def test_an_answer_that_ignores_the_alarm_passes_under_paper_only() -> None:
    """LiveBench's gap, kept by the paper protocol: tests of 7 s pass inside the global budget of
    (6 + 1) x 3 + 5 s. The corrected protocol holds each test to its 6 s (+0.5 s) from outside."""
    question = attacks.question("slow")
    assert score_coding(question, _fenced(IGNORES_THE_ALARM), corrected=False) == 1.0
    assert score_coding(question, _fenced(IGNORES_THE_ALARM), corrected=True) == 0.0
    assert score_coding(question, _fenced(attacks.HONEST), corrected=True) == 1.0
