"""Every input kind, truncated, binary and schema-violating, fed to every command that reads it.

Each case must end in exactly one ``error: ...`` line (the last line on stderr, no traceback, no "bug"
line), a non-zero exit, and leave the previous results (an earlier export, report, score file,
leaderboard, audit or run folder) and the input itself byte-identical. `sosbench validate` must say the
same of the broken file. In-process (typer's CliRunner), a bounded number of cases, no network.

Every input kind also gets what an attacker would send (issue 21): nesting 200k deep, a YAML alias bomb,
a FIFO, /dev/zero, a sparse file larger than the machine's memory and a name too long for the file
system. Those run one after another in one child process under a 3 GiB address-space limit
(tests/_bounded.py); each command must end in its one error line within 5 CPU seconds, however loaded
the machine, and a blocked command fails the tests instead of hanging them. The larger-than-memory file
of most JSON Lines inputs is read up to the line cap before it is refused (a CPU second each): those run
in the slow tier, and the fast tier keeps two of them (SLOW_LARGE). The fast tier runs the hostile kinds
of a sample of the inputs, at least one of every command (FAST_HOSTILE); the slow tier runs the rest.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from _bounded import ALIAS_BOMB, Outcome, run_bounded
from _synthetic_runs import write_run_folder
from typer.testing import CliRunner

from sosbench.cli import app
from sosbench.suite import benchmarks

BINARY = b"\x89PNG\r\n\x1a\n\x00\xff\xfe\xfd" + bytes(range(256)) * 4
CORRUPTIONS = ("truncated", "binary", "schema")


@dataclass(frozen=True)
class Case:
    """A command, the input file it reads (to break), a schema-violating version of it, what must survive."""

    args: list[str]
    target: Path
    schema: str
    protected: tuple[Path, ...]
    jsonl: bool = False


def _corrupt(case: Case, how: str) -> None:
    data = case.target.read_bytes()
    if how == "binary":
        case.target.write_bytes(BINARY)
    elif how == "schema":
        case.target.write_text(case.schema, encoding="utf-8")
    elif (
        case.jsonl
    ):  # a line cut short in the middle of a file (a torn *last* line is a journal's normal state)
        first = data.split(b"\n", 1)[0]
        case.target.write_bytes(first[: len(first) // 2] + b"\n" + data[len(first) + 1 :])
    else:
        case.target.write_bytes(data[: len(data) // 2])


def _snapshot(paths: tuple[Path, ...]) -> dict[str, str]:
    out = {}
    for root in paths:
        for path in sorted([root] if root.is_file() else root.rglob("*")):
            if path.is_file():
                out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


# --------------------------------------------------------------------------------------------- inputs


def _run(root: Path, name: str = "m") -> Path:
    """A run folder with samples logs (a small subset of the suite keeps it fast)."""
    keep = {"cdna", "gpqa", "livebench-math", "bbq"}
    write_run_folder(root, name, skip=tuple(b.name for b in benchmarks() if b.name not in keep))
    return root


def _previous(path: Path, text: str = "previous results\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _judgments(folder: Path) -> Path:
    folder.mkdir(parents=True)
    game = {"user_prompt": "p", "judgment": "[[A>B]]", "score": "A>B"}
    rows = [
        {"question_id": f"q{i}", "model": m, "judge": "j", "games": [game, game]}
        for m in ("m", "n")
        for i in range(3)
    ]
    for model in ("m", "n"):
        (folder / f"{model}.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in rows if r["model"] == model)
        )
    return folder


def _bench(root: Path, shared: Path) -> Path:
    """A judge bench folder: five Arena-Hard questions and one model's answers to them (real data)."""
    (root / "model_answer").mkdir(parents=True)
    questions = (shared / "arena-hard-v0.1" / "question.jsonl").read_text().splitlines()[:5]
    (root / "question.jsonl").write_text("\n".join(questions) + "\n")
    ids = {json.loads(q)["uid"] for q in questions}
    answers = [
        a
        for a in (shared / "arena-hard-v0.1" / "model_answer" / "gpt-4-0613.jsonl").read_text().splitlines()
        if json.loads(a)["uid"] in ids
    ]
    (root / "model_answer" / "m.jsonl").write_text("\n".join(answers) + "\n")
    return root


def _livebench(root: Path, shared: Path) -> tuple[Path, Path]:
    questions = root / "questions" / "question.jsonl"
    questions.parent.mkdir(parents=True)
    questions.write_text(
        "\n".join((shared / "livebench" / "questions_cta.jsonl").read_text().splitlines()[:4]) + "\n"
    )
    answers = root / "answers.jsonl"
    rows = [
        json.loads(line) for line in (shared / "livebench" / "dev_answers_cta.jsonl").read_text().splitlines()
    ]
    ids = {json.loads(q)["question_id"] for q in questions.read_text().splitlines()}
    answers.write_text(
        "".join(
            json.dumps(
                {
                    "question_id": r["question_id"],
                    "model_id": r["model_id"],
                    "choices": [{"index": 0, "turns": [r["model_output"]]}],
                }
            )
            + "\n"
            for r in rows
            if r["question_id"] in ids
        )
    )
    return questions.parent, answers


SCHEMA = {
    "results": json.dumps({"results": {"sos_cdna": {"acc,none": 7.5, "acc_stderr,none": -1}}}),
    "done": json.dumps({"benchmark": "cdna", "finished": 3}),
    "manifest": json.dumps({"model_name": ["m"], "protocol": "paper"}),
    "samples": json.dumps({"doc_id": 0, "acc": "yes"}) + "\n",
    "livebench_scores": json.dumps({"question_id": "q", "task": "AMPS_Hard", "score": "high"}) + "\n",
    "groups_csv": "model,average,coding\nm,,150\n",
    "wide_csv": "Name,bbq/acc,bbq/acc_stderr\nm,abc,0.1\n",
    "lb_answers": json.dumps({"question_id": 7, "model_id": "m", "choices": "none"}) + "\n",
    "lb_questions": json.dumps({"question_id": "q", "task": "cta", "turns": 5}) + "\n",
    "judgments": json.dumps({"question_id": "q0", "model": "m", "games": "A>B"}) + "\n",
    "judge_answers": json.dumps({"uid": "q", "model": "m", "messages": [{"content": 7}]}) + "\n",
    "judge_questions": json.dumps({"uid": 3.5, "prompt": ["p"]}) + "\n",
    "models": "- {model: hf, modle_args: 'pretrained=x'}\n",
}


def _score_cases(tmp: Path, shared: Path) -> dict[str, Case]:
    cases: dict[str, Case] = {}
    run = _run(tmp / "run")
    export = tmp / "export"
    for name in ("sos_results.csv", "livebench_groups.csv", "livebench_tasks.csv"):
        _previous(export / name)
    score = ["score", "--bootstrap", "0", str(run), "--export", str(export)]
    cases["score results.json"] = Case(score, run / "cdna" / "results.json", SCHEMA["results"], (export,))
    cases["score done.json"] = Case(score, run / "gpqa" / "done.json", SCHEMA["done"], (export,))
    cases["score manifest.json"] = Case(score, run / "manifest.json", SCHEMA["manifest"], (export,))
    cases["score samples log"] = Case(
        score, run / "cdna" / "samples_sos_cdna.jsonl", SCHEMA["samples"], (export,), True
    )
    cases["score livebench_scores.jsonl"] = Case(
        score, run / "livebench-math" / "livebench_scores.jsonl", SCHEMA["livebench_scores"], (export,), True
    )
    plain = tmp / "plain" / "results_2024-08-01T10-00-00.json"
    plain.parent.mkdir()
    shutil.copy(run / "cdna" / "results.json", plain)
    cases["score plain results JSON"] = Case(
        ["score", "--bootstrap", "0", str(plain), "--export", str(export)],
        plain,
        SCHEMA["results"],
        (export,),
    )
    groups = tmp / "csv" / "livebench_groups.csv"
    groups.parent.mkdir()
    groups.write_text("model,average,coding\nm,,40.5\n")
    cases["score LiveBench CSV"] = Case(
        ["score", "--bootstrap", "0", str(groups)], groups, SCHEMA["groups_csv"], (export,)
    )
    wide = tmp / "csv" / "eleuther_wandb.csv"
    wide.write_text(
        "\n".join((shared / "artifacts" / "eleuther_wandb.csv").read_text().splitlines()[:3]) + "\n"
    )
    cases["score wide CSV"] = Case(
        ["score", "--bootstrap", "0", str(wide)], wide, SCHEMA["wide_csv"], (export,)
    )
    return cases


def _compare_cases(tmp: Path, shared: Path) -> dict[str, Case]:
    cases: dict[str, Case] = {}
    base, cand = _run(tmp / "base", "base"), _run(tmp / "cand", "cand")
    compare = ["compare", str(base), str(cand), "--bootstrap", "100", "--permutations", "100"]
    cases["compare results.json"] = Case(compare, base / "cdna" / "results.json", SCHEMA["results"], (cand,))
    cases["compare done.json"] = Case(compare, base / "gpqa" / "done.json", SCHEMA["done"], (cand,))
    cases["compare manifest.json"] = Case(compare, cand / "manifest.json", SCHEMA["manifest"], (base,))
    cases["compare samples log"] = Case(
        compare, cand / "gpqa" / "samples_leaderboard_gpqa_main.jsonl", SCHEMA["samples"], (base,), True
    )
    return cases


def _report_cases(tmp: Path, shared: Path) -> dict[str, Case]:
    base = _run(tmp / "base", "base")
    html = _previous(tmp / "report" / "report.html", "<html>previous report</html>\n")
    return {
        "report results.json": Case(
            ["report", str(base), "--html", str(html), "--bootstrap", "0"],
            base / "cdna" / "results.json",
            SCHEMA["results"],
            (html,),
        )
    }


def _livebench_cases(tmp: Path, shared: Path) -> dict[str, Case]:
    questions, answers = _livebench(tmp / "livebench", shared)
    scores = _previous(tmp / "livebench" / "scores.jsonl")
    files = ["-q", str(questions), "-a", str(answers), "-o", str(scores)]
    livebench = ["livebench", "score", *files, "--workers", "1"]
    return {
        "livebench answers": Case(livebench, answers, SCHEMA["lb_answers"], (scores,), True),
        "livebench questions": Case(
            livebench, questions / "question.jsonl", SCHEMA["lb_questions"], (scores,), True
        ),
    }


def _judgment_cases(tmp: Path, shared: Path) -> dict[str, Case]:
    judgments = _judgments(tmp / "bench" / "model_judgment" / "j")
    board = _previous(tmp / "judge" / "board.csv")
    audit = _previous(tmp / "judge" / "audit.json", "{}\n")
    return {
        "judge score judgments": Case(
            ["judge", "score", "-J", str(judgments), "-o", str(board), "--rounds", "0"],
            judgments / "m.jsonl",
            SCHEMA["judgments"],
            (board,),
            True,
        ),
        "judge audit judgments": Case(
            ["judge", "audit", "-J", str(judgments), "-o", str(audit)],
            judgments / "n.jsonl",
            SCHEMA["judgments"],
            (audit,),
            True,
        ),
    }


def _judge_run_cases(tmp: Path, shared: Path) -> dict[str, Case]:
    bench = _bench(tmp / "arena", shared)
    judge_run = [
        "judge",
        "run",
        "--judge",
        "gpt-4o-mini-2024-07-18",
        "--models",
        "m",
        "-d",
        str(bench),
        "--dry-run",
    ]
    return {
        "judge run answers": Case(
            judge_run,
            bench / "model_answer" / "m.jsonl",
            SCHEMA["judge_answers"],
            (bench / "question.jsonl",),
            True,
        ),
        "judge run questions": Case(
            judge_run, bench / "question.jsonl", SCHEMA["judge_questions"], (bench / "model_answer",), True
        ),
    }


def _run_cases(tmp: Path, shared: Path) -> dict[str, Case]:
    models = tmp / "models.yaml"
    models.write_text("- {model: hf, model_args: 'pretrained=org/m', model_name: m}\n")
    previous_run = _run(tmp / "runs" / "m")
    return {
        "run --models": Case(
            ["run", "--models", str(models), "-o", str(tmp / "runs")],
            models,
            SCHEMA["models"],
            (previous_run,),
        )
    }


GROUPS = {
    "score": _score_cases,
    "compare": _compare_cases,
    "report": _report_cases,
    "livebench": _livebench_cases,
    "judge score": _judgment_cases,
    "judge audit": _judgment_cases,
    "judge run": _judge_run_cases,
    "run": _run_cases,
}
"""Each case's inputs by the command that reads them: a case builds only its own command's inputs."""


def _case(name: str, tmp: Path, shared: Path) -> Case:
    group = max((prefix for prefix in GROUPS if name.startswith(prefix + " ")), key=len)
    tmp.mkdir(parents=True, exist_ok=True)
    return GROUPS[group](tmp, shared)[name]


CASE_NAMES = (
    "score results.json",
    "score done.json",
    "score manifest.json",
    "score samples log",
    "score livebench_scores.jsonl",
    "score plain results JSON",
    "score LiveBench CSV",
    "score wide CSV",
    "compare results.json",
    "compare done.json",
    "compare manifest.json",
    "compare samples log",
    "report results.json",
    "livebench answers",
    "livebench questions",
    "judge score judgments",
    "judge audit judgments",
    "judge run answers",
    "judge run questions",
    "run --models",
)


def _one_error_line(result, what: str) -> str:
    return _single_error(result.exit_code, result.stderr, result.output, what)


def _single_error(exit_code: int | None, stderr: str, output: str, what: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert exit_code not in (0, None), (what, output)
    assert len(errors) == 1 and lines[-1] == errors[0], (what, stderr)
    assert "Traceback" not in output and "bug in sosbench" not in stderr, (what, stderr)
    return errors[0]


@pytest.mark.parametrize("how", CORRUPTIONS)
@pytest.mark.parametrize("name", CASE_NAMES)
def test_broken_input_is_one_error_line_and_nothing_is_lost(
    name: str, how: str, tmp_path: Path, shared_data: Path
) -> None:
    case = _case(name, tmp_path, shared_data)
    _corrupt(case, how)
    before = _snapshot((*case.protected, case.target))
    runner = CliRunner()
    line = _one_error_line(runner.invoke(app, case.args), f"{name} ({how})")
    assert _snapshot((*case.protected, case.target)) == before, (
        f"{name} ({how}) changed previous results: {line}"
    )
    checked = runner.invoke(app, ["validate", str(case.target)])
    assert checked.exit_code == 1 and _one_error_line(checked, f"validate {name} ({how})")


# ------------------------------------------------------------------------------------------ hostile inputs
HOSTILE = ("nested 200k deep", "YAML alias bomb", "FIFO", "/dev/zero", "larger than memory", "name too long")
DEEP = "[" * 200_000 + "]" * 200_000 + "\n"
CPU_LIMIT_S = 5.0


def _memory_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _make_hostile(case: Case, how: str) -> tuple[list[str], Path]:
    """Replace the case's input as ``how`` says; the command's arguments and the path to `validate`."""
    target = case.target
    if how == "name too long":  # the argument that leads to the input gets a 300-character last part
        arg = max((a for a in case.args if str(target) == a or str(target).startswith(a + "/")), key=len)
        long = Path(arg).parent / ("n" * 300 + Path(arg).suffix)
        return [str(long) if a == arg else a for a in case.args], long
    target.unlink()
    if how == "nested 200k deep":
        target.write_text(DEEP)
    elif how == "YAML alias bomb":
        target.write_text(ALIAS_BOMB)
    elif how == "FIFO":
        os.mkfifo(target)
    elif how == "/dev/zero":
        target.symlink_to("/dev/zero")
    else:  # holes only: nothing is written to disk
        with target.open("wb") as handle:
            handle.truncate(_memory_bytes() + (1 << 30))
    return case.args, target


LARGE = "larger than memory"
SLOW_LARGE = (
    "score livebench_scores.jsonl",
    "compare samples log",
    "livebench answers",
    "livebench questions",
    "judge audit judgments",
    "judge run answers",
    "judge run questions",
)
"""JSON Lines inputs whose sparse file is read up to the line cap (256 MiB) before it is refused, a CPU
second each: the slow tier runs them; the fast tier keeps a run folder's (score samples log) and a
judge folder's (judge score judgments), and every other hostile kind of every input."""


@dataclass(frozen=True)
class HostileRun:
    """One case's hostile commands (each input, then `validate` of it), what they did, what must survive."""

    kinds: tuple[str, ...]
    outcomes: list[Outcome]
    protected: tuple[Path, ...]
    before: dict[str, str]


def _run_hostile(root: Path, shared: Path, kinds: dict[str, tuple[str, ...]]) -> dict[str, HostileRun]:
    """``kinds[name]`` of each case, run in one bounded child: one interpreter start and one set of imports
    for all of them, while each command is still timed and held to the CPU limit on its own."""
    commands: list[list[str]] = []
    spans: dict[str, tuple[int, int]] = {}
    protected: dict[str, tuple[Path, ...]] = {}
    for index, (name, hows) in enumerate(kinds.items()):
        start, paths = len(commands), []
        for number, how in enumerate(hows):
            case = _case(name, root / f"input{index}" / f"case{number}", shared)
            args, target = _make_hostile(case, how)
            commands += [args, ["validate", str(target)]]
            paths += case.protected
        spans[name], protected[name] = (start, len(commands)), tuple(paths)
    before = {name: _snapshot(paths) for name, paths in protected.items()}
    outcomes = run_bounded(commands, root, timeout=900)
    return {
        name: HostileRun(kinds[name], outcomes[start:end], protected[name], before[name])
        for name, (start, end) in spans.items()
    }


def _check_hostile(name: str, run: HostileRun) -> None:
    assert len(run.outcomes) == 2 * len(run.kinds)
    for index, outcome in enumerate(run.outcomes):
        what = f"{'validate ' if index % 2 else ''}{name} ({run.kinds[index // 2]})"
        assert outcome.exception is None, (what, outcome.exception)
        line = _single_error(outcome.exit_code, outcome.stderr, outcome.stderr, what)
        if index % 2:
            assert outcome.exit_code == 1, (what, line)
        assert outcome.cpu_s < CPU_LIMIT_S, (what, f"{outcome.cpu_s:.1f} CPU seconds", line)
    assert _snapshot(run.protected) == run.before, f"{name}: a hostile input changed previous results"


FAST_HOSTILE = (
    "score results.json",
    "score samples log",
    "score wide CSV",
    "compare manifest.json",
    "report results.json",
    "livebench questions",
    "judge score judgments",
    "judge run answers",
    "run --models",
)
"""The inputs whose hostile kinds the fast tier runs: one or more of every command, JSON, JSON Lines, CSV
and YAML; the slow tier runs the other inputs' (the same bounded readers behind other file names)."""


def _hostile_kinds(names: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    return {name: tuple(h for h in HOSTILE if h != LARGE or name not in SLOW_LARGE) for name in names}


@pytest.fixture(scope="module")
def hostile_runs(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> dict[str, HostileRun]:
    return _run_hostile(tmp_path_factory.mktemp("hostile"), shared_data, _hostile_kinds(FAST_HOSTILE))


@pytest.fixture(scope="module")
def more_hostile_runs(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> dict[str, HostileRun]:
    rest = tuple(name for name in CASE_NAMES if name not in FAST_HOSTILE)
    return _run_hostile(tmp_path_factory.mktemp("hostile-more"), shared_data, _hostile_kinds(rest))


@pytest.mark.parametrize("name", FAST_HOSTILE)
def test_hostile_input_is_one_error_line_in_bounded_time_and_memory(
    name: str, hostile_runs: dict[str, HostileRun]
) -> None:
    assert len(ALIAS_BOMB) < 600
    _check_hostile(name, hostile_runs[name])


@pytest.mark.slow
@pytest.mark.parametrize("name", [name for name in CASE_NAMES if name not in FAST_HOSTILE])
def test_every_other_input_too(name: str, more_hostile_runs: dict[str, HostileRun]) -> None:
    _check_hostile(name, more_hostile_runs[name])


@pytest.fixture(scope="module")
def large_hostile_runs(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> dict[str, HostileRun]:
    kinds = {name: (LARGE,) for name in SLOW_LARGE}
    return _run_hostile(tmp_path_factory.mktemp("hostile-large"), shared_data, kinds)


@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW_LARGE)
def test_a_jsonl_input_larger_than_memory_is_one_error_line_in_bounded_time(
    name: str, large_hostile_runs: dict[str, HostileRun]
) -> None:
    _check_hostile(name, large_hostile_runs[name])
