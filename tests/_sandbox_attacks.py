"""Answers a hostile model could write, run through the real scorers; also runnable as a script.

Each attack answers an "add two numbers" problem, and prints the right sum only if its attack worked
(it read a private test, a secret or a host file, reached the network, ...), so an attack that gets
through scores 1. ``python tests/_sandbox_attacks.py WORKDIR`` prints one JSON object of results, with
each scoring path's wall time and the scorer's peak memory; the tests run it under a hard
``prlimit --as`` of 3 GiB and a time limit, as root and as an ordinary user.
"""

from __future__ import annotations

import base64
import json
import os
import pickle
import random
import socket
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path
from typing import Any

SECRET = "sk-sosbench-test-secret-0123456789"
MARKER = "sosbench-attack-daemon"

EXPLOIT = r"""
import base64, json, os, pickle, zlib
def tests_in(path):
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                doc = row.get("doc", row) if isinstance(row, dict) else {}
                for key in ("private_test_cases", "public_test_cases"):
                    field = doc.get(key) or ""
                    try:
                        cases = json.loads(field)
                    except Exception:
                        cases = json.loads(pickle.loads(zlib.decompress(base64.b64decode(field))))
                    for case in cases:
                        yield case
    except Exception:
        return
def candidates():
    for pid in os.listdir("/proc"):
        try:
            args = open(f"/proc/{pid}/cmdline", "rb").read().decode().split("\0")
            yield from (a for a in args if a.endswith(".jsonl"))
        except Exception:
            pass
    # The test's own folder first (a real attacker would guess it from cwd or argv), then whole trees;
    # walking a busy /tmp alone can outlast the 6 s test limit and hide a working exploit.
    roots = [r for r in (os.environ.get("SOSBENCH_ATTACK_ROOT"), "/tmp", "/work", "/home", "/root") if r]
    for root in roots:
        for folder, _dirs, files in os.walk(root):
            yield from (os.path.join(folder, f) for f in files if f.endswith(".jsonl"))
data = sys.stdin.read()
for path in candidates():
    for case in tests_in(path):
        if case.get("input") == data:
            print(case["output"], end="")
            raise SystemExit(0)
print("no luck")
"""

ATTACKS: dict[str, str] = {
    "read_private_tests": EXPLOIT,
    "read_scorer_environment": f"""
import os
found = any({SECRET!r} in str(os.environ) for _ in [0])
for pid in os.listdir('/proc'):
    try:
        found = found or {SECRET!r}.encode() in open(f'/proc/{{pid}}/environ', 'rb').read()
    except Exception:
        pass
a, b = map(int, input().split())
print(a + b if found else -1)
""",
    "read_host_file": """
import os
try:
    text = open(os.environ.get('SOSBENCH_ATTACK_FILE', '/nonexistent')).read()
except Exception:
    text = ''
a, b = map(int, input().split())
print(a + b if 'host-secret' in text else -1)
""",
    "read_host_file_by_path": "",  # filled in by run_all: the absolute path is only known then
    "network_to_loopback": "",  # filled in by run_all: the port is only known then
    "write_outside": "",  # filled in by run_all
    "fill_tmp_and_shm": """
import posix
for folder in ('/tmp', '/dev/shm'):
    try:
        with open(folder + '/sosbench-filler', 'wb') as handle:
            for _ in range(4096):
                handle.write(b'x' * (1 << 20))
    except OSError:
        pass
print(-1)
""",
    "double_forked_daemon": f"""
import posix, sys
if posix.fork() == 0:
    posix.setsid()
    if posix.fork() == 0:
        posix.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(120)', {MARKER!r}])
    posix._exit(0)
print(-1)
""",
    "fork_bomb_of_programs": f"""
import posix, sys
while True:
    try:
        if posix.fork() == 0:
            posix.execv(sys.executable, [sys.executable, '-c', 'while True: pass', {MARKER!r}])
    except OSError:
        pass
""",
    "kill_parent_and_group": """
import posix, signal
for target in (posix.getppid(), 1):
    try:
        posix.kill(target, signal.SIGKILL)
    except OSError:
        pass
for group in (0, posix.getpgid(0)):
    try:
        posix.killpg(group, signal.SIGKILL)
    except OSError:
        pass
try:
    posix.kill(-1, signal.SIGKILL)
except OSError:
    pass
print(-1)
""",
    "fork_bomb": """
import posix
while True:
    try:
        posix.fork()
    except OSError:
        pass
""",
    "flood_result_pipe": """
import posix
for fd in range(3, 64):
    try:
        while True:
            posix.write(fd, b'\\0' * 65536)
    except OSError:
        pass
""",
    "deep_result_line": """
import posix
for fd in range(3, 64):
    try:
        posix.write(fd, b'[' * 200000 + b'\\n')
    except OSError:
        pass
print(-1)
""",
    "fake_result_lines": """
import posix
for fd in range(3, 64):
    try:
        posix.write(fd, b'{"ok": true, "out": "7"}\\n' * 3)
    except OSError:
        pass
print(-1)
""",
    "fifo_and_symlinks": """
import os, posix
posix.mkfifo('/tmp/stdout.txt')
posix.symlink('/dev/zero', '/tmp/out')
print(-1)
""",
    "deep_folders": """
import posix
path = '/tmp'
for _ in range(5000):
    path += '/d'
    try:
        posix.mkdir(path)
    except OSError:
        break
print(-1)
""",
    "sabotage_other_sandboxes": """
import os
for pid in os.listdir('/proc'):
    for fd in ('0', '1', '2', '3', '4'):
        try:
            with open(f'/proc/{pid}/fd/{fd}', 'w') as handle:
                handle.write('0\\n' * 1000)
        except Exception:
            pass
for folder, _dirs, files in os.walk('/tmp'):
    for name in files:
        try:
            open(os.path.join(folder, name), 'w').write('0')
        except Exception:
            pass
print(-1)
""",
    "sleep_forever": "import time\ntime.sleep(3600)",
    "memory_hog": "x = bytearray(8 * 1024**3)\nprint(-1)",
    # Scoring one answer is bounded whatever it prints (issue 21, cases 1 and 2):
    "unclosed_quotes_line": """
import posix
line = b'{"ok": true, "out": "' + b'\\\\"' * 900000 + b'\\n'
for fd in range(3, 64):
    try:
        posix.write(fd, line)
    except OSError:
        pass
print(-1)
""",
    "unclosed_quotes_flood": """
import posix
for fd in range(3, 64):
    try:
        posix.write(fd, b'["')
        while True:
            posix.write(fd, b'\\\\"' * 65536)
    except OSError:
        pass
""",
    "many_short_lines": "print('1\\n' * 16_000_000)",
    "many_short_lines_within_cap": "print('1\\n' * 600_000)",
    "blank_lines_then_answer": (
        "a, b = map(int, input().split())\nprint('\\n' * 900_000 + ' ' + str(a + b + 1))"
    ),
    # One memory and process budget per sandbox (issue 21, case 3):
    "memory_across_processes": """
import posix, time
for _ in range(64):
    try:
        if posix.fork() == 0:
            chunks = []
            try:
                while True:
                    chunks.append(bytearray(64 * 2**20))
            except MemoryError:
                time.sleep(20)
            posix._exit(0)
    except OSError:
        break
chunks = []
try:
    while True:
        chunks.append(bytearray(64 * 2**20))
except MemoryError:
    pass
print(-1)
""",
    "cpu_burners": """
import posix
for _ in range(62):
    try:
        if posix.fork() == 0:
            while True:
                pass
    except OSError:
        break
while True:
    pass
""",
    "read_proc_cmdlines": "",  # filled in by run_all: the host paths it looks for are only known then
}

HONEST = "a, b = map(int, input().split())\nprint(a + b)"


def _private(tests: list[dict[str, str]]) -> str:
    return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(tests)))).decode()


def question(qid: str) -> dict[str, Any]:
    public = [{"input": "3 4\n", "output": "7\n", "testtype": "stdin"}]
    private = [
        {"input": "1234 4321\n", "output": "5555\n", "testtype": "stdin"},
        {"input": "-20 7\n", "output": "-13\n", "testtype": "stdin"},
    ]
    return {
        "question_id": qid,
        "task": "LCB_generation",
        "category": "coding",
        "turns": ["Add two numbers."],
        "livebench_release_date": "2024-06-24",
        "public_test_cases": json.dumps(public),
        "private_test_cases": _private(private),
        "original_json": {"metadata": "{}"},
    }


def fenced(code: str) -> str:
    return f"```python\n{code}\n```"


def attack_answers(workdir: Path, port: int) -> dict[str, str]:
    host_file = workdir / "host-secret.txt"
    outside = workdir / "escaped.txt"
    answers = dict(ATTACKS)
    answers["read_host_file_by_path"] = (
        f"try:\n    t = open({str(host_file)!r}).read()\nexcept Exception:\n    t = ''\n"
        f"a, b = map(int, input().split())\nprint(a + b if 'host-secret' in t else -1)"
    )
    answers["network_to_loopback"] = (
        "import _socket\nok = False\ntry:\n    s = _socket.socket()\n    s.settimeout(2)\n"
        f"    s.connect(('127.0.0.1', {port}))\n    ok = True\nexcept OSError:\n    pass\n"
        "a, b = map(int, input().split())\nprint(a + b if ok else -1)"
    )
    hidden = [str(workdir), "sosbench-sandbox-", str(Path(__file__).resolve().parents[1] / "src")]
    answers["read_proc_cmdlines"] = (
        f"import os\nfound = False\nfor pid in os.listdir('/proc'):\n    try:\n"
        f"        text = open(f'/proc/{{pid}}/cmdline', 'rb').read().decode(errors='replace')\n"
        f"    except Exception:\n        continue\n    found = found or any(m in text for m in {hidden!r})\n"
        "a, b = map(int, input().split())\nprint(a + b if found else -1)"
    )
    answers["write_outside"] = (
        "import os\nok = False\n"
        f"for path in ({str(outside)!r}, {str(Path.home() / 'sosbench-escaped')!r}, '/sosbench-escaped'):\n"
        "    try:\n        open(path, 'w').write('x')\n        ok = True\n    except OSError:\n        pass\n"
        "a, b = map(int, input().split())\nprint(a + b if ok else -1)"
    )
    return answers


def _daemons() -> list[str]:
    found = []
    for pid in os.listdir("/proc"):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if MARKER.encode() in cmdline:
            found.append(pid)
    return found


def run_all(workdir: Path, *, sandbox: str = "bwrap", workers: int = 2) -> dict[str, Any]:
    """Score every attack twice, interleaved with honest answers, through ``sosbench livebench score``
    (a subprocess, so the question file is on its command line) and through the run path (lm-eval
    sample logs in a run folder, scored by ``finalize_run``). Returns scores and what was left behind."""
    from sosbench.livebench import finalize_run

    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "host-secret.txt").write_text("host-secret", encoding="utf-8")
    tmp_before = set(os.listdir("/tmp")) | {f"shm:{n}" for n in os.listdir("/dev/shm")}
    env = {
        **os.environ,
        "OPENAI_API_KEY": SECRET,
        "SOSBENCH_ATTACK_FILE": str(workdir / "host-secret.txt"),
        "SOSBENCH_ATTACK_ROOT": str(workdir),
    }
    with socket.create_server(("127.0.0.1", 0)) as server:
        answers = attack_answers(workdir, server.getsockname()[1])
        names = [*answers, *(f"honest-{i}" for i in range(14))]  # >= 32 answers: scored by a pool of workers
        random.Random(0).shuffle(names)  # hostile and honest answers share workers
        rows, samples, questions = [], [], []
        for index, name in enumerate(names):
            code = HONEST if name.startswith("honest") else answers[name]
            qid = f"{name}#{index}"
            questions.append(question(qid))
            rows.append(
                {"question_id": qid, "model_id": "m", "choices": [{"index": 0, "turns": [fenced(code)]}]}
            )
            samples.append(
                {"doc": question(qid), "resps": [[fenced(code)]], "filtered_resps": [fenced(code)]}
            )
        (workdir / "question.jsonl").write_text(
            "".join(json.dumps(q) + "\n" for q in questions), encoding="utf-8"
        )
        (workdir / "answers").mkdir(exist_ok=True)
        (workdir / "answers" / "m.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8"
        )
        scores_file = workdir / "scores.jsonl"
        started = time.monotonic()
        cli = _measured(
            [
                sys.executable,
                "-m",
                "sosbench.cli",
                "livebench",
                "score",
                "--questions",
                str(workdir / "question.jsonl"),
                "--answers",
                str(workdir / "answers"),
                "--output",
                str(scores_file),
                "--workers",
                str(workers),
                "--sandbox",
                sandbox,
                "--format",
                "json",
            ],
            env={**env, "SOSBENCH_SANDBOX": sandbox},
        )
        measures = {"score": {"seconds": time.monotonic() - started, **cli.pop("memory")}}
        run_dir = workdir / "run" / "livebench-coding"
        run_dir.mkdir(parents=True, exist_ok=True)
        for task in ("LCB_generation", "coding_completion"):
            lines = samples if task == "LCB_generation" else []
            (run_dir / f"samples_livebench_{task}.jsonl").write_text(
                "".join(json.dumps(s) + "\n" for s in lines), encoding="utf-8"
            )
        os.environ.update(
            {k: v for k, v in env.items() if k not in os.environ or k.startswith(("OPENAI", "SOS"))}
        )
        started = time.monotonic()
        with _Peak(os.getpid()) as peak:
            finalize_run(run_dir, "coding", "m", workers=workers, sandbox=sandbox)
        measures["run"] = {"seconds": time.monotonic() - started, **peak.result()}
    time.sleep(0.5)
    by_path = {
        "score": _scores(scores_file, names),
        "run": _scores(run_dir / "livebench_scores.jsonl", names),
    }
    tmp_after = set(os.listdir("/tmp")) | {f"shm:{n}" for n in os.listdir("/dev/shm")}
    return {
        "cli_returncode": cli["returncode"],
        "cli_stderr": cli["stderr"][-2000:],
        "measures": measures,
        "scores": by_path,
        "escaped": [
            p
            for p in (workdir / "escaped.txt", Path.home() / "sosbench-escaped", Path("/sosbench-escaped"))
            if p.exists()
        ],
        "new_tmp_files": sorted(n for n in tmp_after - tmp_before if _left_by_this_run(n)),
        "processes_left": _daemons(),
    }


def _measured(command: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run ``command``, following the peak memory of its scorer processes."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with _Peak(process.pid) as peak:
        stdout, stderr = process.communicate(timeout=1200)
    return {"returncode": process.returncode, "stdout": stdout, "stderr": stderr, "memory": peak.result()}


class _Peak:
    """Samples, every 0.1 s, the scorer processes under ``root`` (the scorer and its pool workers, not the
    sandboxes they start): the largest one's peak RSS (VmHWM) and the most they held together (VmRSS)."""

    SANDBOX_LAUNCHERS = frozenset({"bwrap", "unshare", "setpriv", "sh"})

    def __init__(self, root: int) -> None:
        self.root, self.largest_kb, self.together_kb = root, 0, 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> _Peak:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.done.set()
        self.thread.join()

    def result(self) -> dict[str, float]:
        return {"peak_rss_mib": self.largest_kb / 1024, "peak_together_mib": self.together_kb / 1024}

    def _sample(self) -> None:
        while not self.done.wait(0.1):
            together = 0
            for pid in self._scorers():
                status = _status(pid)
                self.largest_kb = max(self.largest_kb, status.get("VmHWM", 0))
                together += status.get("VmRSS", 0)
            self.together_kb = max(self.together_kb, together)

    def _scorers(self) -> list[int]:
        children: dict[int, list[int]] = {}
        names: dict[int, str] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            name, fields = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
            names[int(entry)] = name
            children.setdefault(int(fields[1]), []).append(int(entry))
        found, todo = [], [self.root]
        while todo:
            pid = todo.pop()
            if names.get(pid) in self.SANDBOX_LAUNCHERS:
                continue
            found.append(pid)
            todo.extend(children.get(pid, []))
        return found


def _status(pid: int) -> dict[str, int]:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    return {
        k: int(v.split()[0])
        for k, _, v in (line.partition(":") for line in lines)
        if v.strip().endswith("kB")
    }


def _left_by_this_run(name: str) -> bool:
    """A /tmp or /dev/shm entry an attack would leave, or a staging folder whose scorer is gone (the
    machine's other work writes sosbench folders of its own there, and its live scorers' stages)."""
    from sosbench.sandbox._owner import owner_dead

    name = name.split(":")[-1]
    if name.startswith("sosbench-sandbox-"):
        return owner_dead(name.removeprefix("sosbench-sandbox-").rsplit("-", 1)[0])
    return name.startswith("sosbench-filler")


def _scores(path: Path, names: list[str]) -> dict[str, list[float]]:
    result: dict[str, list[float]] = {}
    if not path.is_file():
        return result
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        result.setdefault(row["question_id"].split("#")[0], []).append(row["score"])
    return result


if __name__ == "__main__":
    outcome = run_all(Path(sys.argv[1]), sandbox=sys.argv[2] if len(sys.argv) > 2 else "bwrap")
    print(json.dumps(outcome, default=str))
