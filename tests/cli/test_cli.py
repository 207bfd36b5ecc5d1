"""The command line's habits: one-line errors and exit codes, --debug, real boolean flags, environment
variables that mean one thing, tables readable at 80 columns."""

from __future__ import annotations

import errno
import json
import os
import re
from pathlib import Path
from typing import get_args, get_origin

import pytest
import typer
from _cli import sosbench
from _synthetic_runs import write_run_folder
from _tables import assert_not_cut
from typer.core import TyperArgument, TyperOption
from typer.testing import CliRunner

from sosbench.cli import app
from sosbench.cli._flags import commands
from sosbench.errors import SosbenchError


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, list(args), env=env)


def error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


# ------------------------------------------------------------------------------ errors and exit codes


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["scroe"], r"^error: No such command 'scroe'\. Did you mean 'score'\? \(see `sosbench --help`\)$"),
        (
            ["score", "--frmat", "x", "r"],
            r"^error: No such option: --frmat .*\(see `sosbench score --help`\)$",
        ),
        (["score"], r"^error: Missing argument 'PATH\.\.\.'\. \(see `sosbench score --help`\)$"),
        (
            ["judge", "score", "--rounds", "many"],
            r"^error: Invalid value for '--rounds'.*\(see `sosbench judge score --help`\)$",
        ),
    ],
)
def test_usage_errors_are_one_line_naming_the_help(args: list[str], expected: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    (line,) = error_lines(result)
    assert re.match(expected, line), line
    assert "╭" not in result.output and "Usage:" not in result.output


def test_environment_value_of_the_wrong_type_is_a_usage_line(tmp_path: Path) -> None:
    result = invoke("score", str(tmp_path), env={"SOSBENCH_BOOTSTRAP": "lots"})
    assert result.exit_code == 2
    (line,) = error_lines(result)
    assert line.startswith("error: Invalid value for '--bootstrap' (env var: 'SOSBENCH_BOOTSTRAP')")


@pytest.mark.parametrize(
    ("exception", "expected"),
    [
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), r"not UTF-8 text .*binary"),
        (json.JSONDecodeError("Expecting value", "x", 0), r"not valid JSON \(Expecting value, line 1"),
        (
            OSError(errno.ENOSPC, "No space left on device", "/out/x.json"),
            r"/out/x\.json: No space left.*free disk",
        ),
        (
            PermissionError(errno.EACCES, "Permission denied", "/ro/f"),
            r"/ro/f: Permission denied: check its permiss",
        ),
        (
            IsADirectoryError(errno.EISDIR, "Is a directory", "/d"),
            r"/d: Is a directory: it is a folder: pass a file",
        ),
        (SosbenchError("bad thing\nsecond line"), r"^error: bad thing second line$"),
    ],
)
def test_input_problems_escaping_a_reader_are_one_line(monkeypatch, exception, expected) -> None:
    import sosbench.suite

    def fail(*args, **kwargs):
        raise exception

    monkeypatch.setattr(sosbench.suite, "select", fail)
    result = invoke("list")
    assert result.exit_code == 1
    (line,) = error_lines(result)
    assert line.startswith("error: ") and re.search(expected, line), line


def test_a_pydantic_validation_error_is_one_line(monkeypatch) -> None:
    import pydantic

    import sosbench.suite

    class Spec(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(extra="forbid")
        size: int

    def fail(*args, **kwargs):
        Spec.model_validate({"size": "big", "invrt": True})

    monkeypatch.setattr(sosbench.suite, "select", fail)
    result = invoke("list")
    assert result.exit_code == 1
    (line,) = error_lines(result)
    assert line.startswith("error: invalid input: size: Input should be a valid integer") and "1 more" in line


def test_a_bug_says_it_is_one_and_how_to_see_the_traceback(monkeypatch) -> None:
    import sosbench.suite

    monkeypatch.setattr(sosbench.suite, "select", lambda *a, **k: {}["missing"])
    result = invoke("list")
    assert result.exit_code == 70
    first, second = error_lines(result)
    assert first == "error: KeyError: 'missing'"
    assert "bug in sosbench" in second and "--debug" in second and "SOSBENCH_DEBUG=1" in second
    debug = invoke("--debug", "list")
    assert isinstance(debug.exception, KeyError)
    from_env = invoke("list", env={"SOSBENCH_DEBUG": "1"})
    assert isinstance(from_env.exception, KeyError)


def test_ctrl_c_is_exit_130_with_one_line(monkeypatch) -> None:
    import sosbench.suite

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sosbench.suite, "select", interrupt)
    result = invoke("list")
    assert result.exit_code == 130
    (line,) = error_lines(result)
    assert line.startswith("error: interrupted")


def test_debug_prints_the_traceback_of_the_real_command(tmp_path: Path) -> None:
    bad = tmp_path / "results.json"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff")
    plain = sosbench("score", str(bad))
    assert plain.returncode == 1 and plain.stderr.strip().count("\n") == 0
    assert plain.stderr.startswith(f"error: {bad} is not UTF-8 text")
    env = {**os.environ, "SOSBENCH_DEBUG": "1"}
    debug = sosbench("score", str(bad), env=env)
    assert debug.returncode == 1 and "Traceback (most recent call last)" in debug.stderr


# ------------------------------------------------------------------------------------------- flags


def test_a_flag_followed_by_a_boolean_word_is_refused(tmp_path: Path) -> None:
    write_run_folder(tmp_path / "run", "m", skip=("gpqa",), with_samples=False)
    result = invoke("score", "--allow-partial", "true", str(tmp_path / "run"))
    assert result.exit_code == 2
    (line,) = error_lines(result)
    assert "--allow-partial is a flag and takes no value" in line and "--no-allow-partial" in line
    ok = invoke("score", "--allow-partial", "--bootstrap", "0", "--format", "json", str(tmp_path / "run"))
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["allow_partial"] is True
    off = invoke("score", "--no-allow-partial", "--bootstrap", "0", "--format", "json", str(tmp_path / "run"))
    assert json.loads(off.stdout)["models"][0]["factors"]["WK"]["score"] is None


def _all_options():
    root = typer.main.get_command(app)
    for path, command in commands(root):
        for param in getattr(command, "params", []):
            if isinstance(param, TyperOption):
                yield " ".join(("sosbench", *path)), param


def test_help_shows_flags_without_a_value_type() -> None:
    result = invoke("score", "--help", env={"COLUMNS": "200"})
    line = next(line for line in result.stdout.splitlines() if "--allow-partial" in line)
    assert "--no-allow-partial" in line and "<bool>" not in line
    judge = invoke("judge", "run", "--help", env={"COLUMNS": "200"})  # flags of other modules too
    line = next(line for line in judge.stdout.splitlines() if "--dry-run" in line)
    assert "<bool>" not in line


# ------------------------------------------------------------------------------- environment variables


def _option_name(option: TyperOption) -> str:
    long = next(o for o in option.opts if o.startswith("--"))
    return long[2:].upper().replace("-", "_")


def _env_problem(command: str, option: TyperOption) -> str | None:
    """Why an option's variable breaks README's rule, or None: SOSBENCH_[<command words>_]<OPTION>."""
    if option.envvar is None:
        return "no environment variable"
    words = {w.upper() for w in command.split()[1:]}
    envvar = option.envvar if isinstance(option.envvar, str) else option.envvar[0]
    name = _option_name(option)
    if not envvar.startswith("SOSBENCH_") or not envvar.endswith(name):
        return f"{envvar} is not SOSBENCH_..._{name}"
    middle = envvar[len("SOSBENCH_") : len(envvar) - len(name)].strip("_")
    if middle and not set(middle.split("_")) <= words | {"SCORE", "LIVEBENCH", "JUDGE"}:
        return f"{envvar}: {middle} is not a word of {command!r}"
    return None


@pytest.mark.parametrize("command", sorted({c for c, _ in _all_options()}))
def test_every_option_reads_a_variable_named_as_the_readme_says(command: str) -> None:
    problems = []
    for name, option in _all_options():
        if name != command or option.name in ("debug", "version"):
            continue
        problem = _env_problem(command, option)
        if problem:
            problems.append(f"{next(o for o in option.opts if o.startswith('--'))}: {problem}")
    assert not problems, problems


def _kind(option: TyperOption) -> str:
    annotation = option.type_descriptor.annotation
    if get_origin(annotation) is list:  # a list option reads one value from the variable too
        (annotation,) = get_args(annotation)
    return getattr(annotation, "__name__", str(annotation))


def _shared_variables() -> dict[str, list[tuple[str, TyperOption]]]:
    shared: dict[str, list[tuple[str, TyperOption]]] = {}
    for command, option in _all_options():
        if isinstance(option.envvar, str):
            shared.setdefault(option.envvar, []).append((command, option))
    return {k: v for k, v in shared.items() if len(v) > 1}


@pytest.mark.parametrize("envvar", sorted(_shared_variables()))
def test_a_variable_shared_by_commands_has_one_type_and_meaning(envvar: str) -> None:
    users = _shared_variables()[envvar]
    kinds = {_kind(option) for _, option in users}
    flags = {option.is_flag for _, option in users}
    names = {_option_name(option) for _, option in users}
    assert len(kinds) == 1 and len(flags) == 1, (envvar, [(c, _kind(o)) for c, o in users])
    assert len(names) == 1 or envvar.startswith("SOSBENCH_JUDGE_"), (envvar, names)


def test_sosbench_format_csv_works_for_every_command_that_reads_it(tmp_path: Path) -> None:
    """SOSBENCH_FORMAT=csv once for a whole job script: list, score, paper and compare all take it."""
    users = {c for c, o in _all_options() if o.envvar == "SOSBENCH_FORMAT"}
    assert users == {
        "sosbench list",
        "sosbench score",
        "sosbench paper",
        "sosbench compare",
        "sosbench judge score",
        "sosbench run",  # its --dry-run (tests/run/test_cost.py)
    }
    env = {"SOSBENCH_FORMAT": "csv"}
    listed = invoke("list", env=env)
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.splitlines()[0] == "name,factor,engine,dataset,size,metric"
    assert len(listed.stdout.splitlines()) == 25
    write_run_folder(tmp_path / "a", "a", with_samples=False)
    scored = invoke("score", "--bootstrap", "0", str(tmp_path / "a"), env=env)
    assert scored.exit_code == 0 and scored.stdout.startswith("model,items_per_task,WK,")
    paper = invoke("paper", "--bootstrap", "0", env=env)
    assert paper.exit_code == 0, paper.output
    assert paper.stdout.startswith("model,items_per_task,WK,")
    assert len(paper.stdout.splitlines()) == 40  # 39 artifact models


# ---------------------------------------------------------------------------------- 80-column tables


def test_list_is_readable_at_80_columns() -> None:
    result = invoke("list", env={"COLUMNS": "80"})
    assert result.exit_code == 0
    assert_not_cut(result.stdout, [])
    for name in ("livebench-instruction-following", "wildguardtest", "mmlu-pro"):
        assert re.search(rf"^\s+{re.escape(name)}\s", result.stdout, re.M), name
    assert len(result.stdout.splitlines()) < 60  # was 99 lines of cut cells


def _joined_columns(table: str, separator: str) -> list[str]:
    """Each column's text over the table's rows (a wrapped cell's lines joined, spaces dropped)."""
    rows = [line for line in table.splitlines() if line.startswith(separator)]
    cells = [[cell.strip() for cell in row.split(separator)[1:-1]] for row in rows]
    return ["".join(column).replace(" ", "") for column in zip(*cells, strict=True)]


def _tables(output: str, title: str) -> list[str]:
    return [part for part in re.split(r"\n(?=\s*\S[^\n]*\n[┏])", output) if title in part.split("\n", 1)[0]]


def test_score_tables_show_every_long_model_name_whole_at_80_columns(tmp_path: Path) -> None:
    names = [
        f"Llama-3-8B-Ultrachat-{kind}-v0.{i}"
        for i, kind in enumerate(("DPO", "IPO", "KTO", "ORPO", "RDPO", "SimPO", "CPO", "SFT"))
    ]
    for name in names:
        write_run_folder(tmp_path / name, name, with_samples=False)
    result = invoke("score", "--bootstrap", "0", *(str(tmp_path / n) for n in names), env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert_not_cut(result.stdout, [])
    (factors,) = _tables(result.stdout, "SOS-Bench scores")
    assert _joined_columns(factors, "│")[0] == "".join(names)  # every name whole, in order, none cut
    headers = [h for table in _tables(result.stdout, "Benchmarks") for h in _joined_columns(table, "┃")[2:]]
    assert headers == names


def test_paper_factor_table_is_readable_at_80_columns() -> None:
    result = invoke("paper", "--bootstrap", "0", env={"COLUMNS": "80"})
    assert result.exit_code == 0
    assert_not_cut(result.stdout, [])  # every table: factors, Arena-Hard, correlations, deltas, regressions
    (factors,) = _tables(result.stdout, "Paper artifacts")
    models = _joined_columns(factors, "│")[0]
    for name in (
        "Llama-3-8B-Ultrachat (princeton)",
        "Llama-3-8B-Ultrachat-ORPO",
        "Mistral-7B-sharegpt-vicuna-v1.0",
    ):
        assert name.replace(" ", "") in models, name
    assert models.count("Llama-3-8B-Ultrachat") == 7
    (deltas,) = _tables(result.stdout, "SFT -> preference optimisation")
    pairs = _joined_columns(deltas, "│")[0]
    assert (
        pairs.count("Llama-3-8B-Ultrachat(princeton)->") == 5 and "->Llama-3-8B-Ultrachat-ORPO(ORPO)" in pairs
    )


def test_arguments_have_readable_names_in_help() -> None:
    root = typer.main.get_command(app)
    score = root.commands["score"]
    (paths,) = [p for p in score.params if isinstance(p, TyperArgument)]
    assert paths.metavar == "PATH..."


# ------------------------------------------------------------------------- option letters and types

# Long options that differ on purpose between commands, and why (each one is named in --help).
SAME_NAME_OTHER_TYPE = {
    "--models": "a YAML/JSON file of model specs in `run`, model names with answers in `judge run`",
}


def _long(option: TyperOption) -> str:
    return next(o for o in option.opts if o.startswith("--"))


def _letters() -> dict[str, set[tuple[str, str]]]:
    letters: dict[str, set[tuple[str, str]]] = {}
    for command, option in _all_options():
        for short in (o for o in option.opts if not o.startswith("--")):
            letters.setdefault(short, set()).add((_long(option), command))
    return letters


def test_a_short_letter_means_one_option_in_every_command() -> None:
    """`-m` is `--model` wherever it exists (it once meant `--models` in `judge run`)."""
    for letter, users in _letters().items():
        assert len({long for long, _ in users}) == 1, (letter, sorted(users))
    assert {long for long, _ in _letters()["-m"]} == {"--model"}


def test_an_option_has_one_type_and_one_letter_in_every_command() -> None:
    kinds: dict[str, set[tuple[str, str]]] = {}
    for command, option in _all_options():
        kinds.setdefault(_long(option), set()).add(("flag" if option.is_flag else _kind(option), command))
    letters = {long: short for short, users in _letters().items() for long, _ in users}
    for long, users in kinds.items():
        if long not in SAME_NAME_OTHER_TYPE:
            assert len({kind for kind, _ in users}) == 1, (long, sorted(users))
        if long in letters:  # a letter in one command is the same letter in all of them
            for command, option in _all_options():
                if _long(option) == long:
                    assert letters[long] in option.opts, (command, long, letters[long])
    assert {kind for kind, _ in kinds["--limit"]} == {"float"}  # a number of items or a fraction, everywhere


@pytest.mark.parametrize(("value", "expected"), [("2", 2), ("0.5", 0.5), ("30", 30)])
def test_limit_reads_the_same_everywhere(value: str, expected: float) -> None:
    from sosbench.run import check_limit

    assert check_limit(float(value)) == expected


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--model", "hf", "-o", "o", "--limit", "2.5"],
        ["judge", "answer", "--model", "m", "--limit", "0"],
    ],
)
def test_a_limit_that_is_no_count_or_fraction_is_one_line(args: list[str], tmp_path: Path) -> None:
    result = invoke(*args)
    assert result.exit_code == 1, result.output
    (line,) = error_lines(result)
    assert (
        line.startswith("error: --limit ")
        and "is neither a number of items (1, 2, ...) nor a fraction" in line
    )


def test_every_help_is_whole_at_80_columns() -> None:
    """No option name, help text or environment variable cut with an ellipsis (SOSBENCH_EQUIVALEN…)."""
    root = typer.main.get_command(app)
    for path, _ in commands(root):
        result = invoke(*path, "--help", env={"COLUMNS": "80"})
        assert result.exit_code == 0, (path, result.output)
        assert "…" not in result.stdout, (path, [line for line in result.stdout.splitlines() if "…" in line])
    text = invoke("compare", "--help", env={"COLUMNS": "80"}).stdout
    assert "SOSBENCH_EQUIVALENCE_MARGIN]" in "".join(line.strip(" │") for line in text.splitlines())


def test_report_marks_html_required_and_names_a_short_compare(tmp_path: Path) -> None:
    help_text = invoke("report", "--help", env={"COLUMNS": "200"}).stdout
    assert re.search(r"\*\s+--html", help_text), help_text
    result = invoke("report", "--compare", "runs/a", "--html", str(tmp_path / "x.html"))
    assert result.exit_code == 2
    (line,) = error_lines(result)
    assert "'--compare'" in line and "takes two run folders, BASE CANDIDATE, but got runs/a --html" in line
    assert "Missing option '--html'" in error_lines(invoke("report", "--paper"))[0]


def test_judge_audit_takes_several_run_paths(tmp_path: Path) -> None:
    """`--runs a b` reads both (b as a plain path), like every other command that takes runs."""
    from unittest import mock

    import sosbench.analysis

    seen = {}

    def audit(judgments, baseline, runs, **options):
        seen["runs"] = runs
        return {"judges": [], "notes": []}

    with mock.patch.object(sosbench.analysis, "audit_judges", audit):
        result = invoke("judge", "audit", "--judgments", str(tmp_path), "--runs", "a", "b", "--runs", "c")
    assert result.exit_code == 0, result.output
    assert seen["runs"] == [Path("a"), Path("c"), Path("b")]


def test_the_score_title_counts_one_model_in_the_singular(tmp_path: Path) -> None:
    write_run_folder(tmp_path / "a", "a", with_samples=False)
    result = invoke("score", "--bootstrap", "0", str(tmp_path / "a"))
    assert "SOS-Bench scores (1 model)" in result.stdout and "1 models" not in result.output


def test_judge_score_tables_are_whole_at_80_columns(tmp_path: Path) -> None:
    """All six criteria: one table at 200 columns, split with the interval under the score at 80, every
    cell whole (model names, scores and intervals all readable)."""
    from _fake_endpoint import MODELS, make_bench

    from sosbench.judge import SCRIPTED_JUDGE, ScriptedJudgeServer

    bench = make_bench(tmp_path / "bench")
    with ScriptedJudgeServer() as server:
        args = ["--base-url", server.url, "--api-key", "none", "--limit", "4", "-d", str(bench)]
        judged = invoke("judge", "run", "--judge", SCRIPTED_JUDGE, "--models", ",".join(MODELS), *args)
    assert judged.exit_code == 0, judged.output
    folder = str(bench / "model_judgment" / SCRIPTED_JUDGE)
    wide = invoke("judge", "score", "--judgments", folder, "--criterion", "all", env={"COLUMNS": "200"})
    narrow = invoke("judge", "score", "--judgments", folder, "--criterion", "all", env={"COLUMNS": "80"})
    assert wide.exit_code == narrow.exit_code == 0, narrow.output
    assert_not_cut(narrow.stdout, [])
    assert wide.stdout.count("┏") == 1 and narrow.stdout.count("┏") == 2  # split into two tables
    wide_cells = {c for line in wide.stdout.splitlines() if line.startswith("│") for c in line.split("│")}
    narrow_text = "".join(c.strip() for line in narrow.stdout.splitlines() for c in line.split("│"))
    for cell in {c.strip() for c in wide_cells if c.strip()}:  # "75.0 (62.0-88.6)": both parts shown
        for part in cell.split():
            assert part in narrow_text, part


# ----------------------------------------------------------------------------------- run: plan, ETA, threads


def test_run_prints_one_plan_line_and_the_time_left(tmp_path: Path) -> None:
    """Two models x two benchmarks: the plan first, in the order given; after the first model, the time
    left is what the same benchmarks took it."""
    from types import SimpleNamespace

    from rich.console import Console

    from sosbench.cli._progress import UnitProgress
    from sosbench.run import Unit

    console = Console(record=True, width=200)
    progress = UnitProgress(console, live=False, several_models=True)
    names = ("mmlu-pro", "bbq")
    jobs = []
    for model in ("a", "b"):
        config = SimpleNamespace(display_name=lambda m=model: m, benchmarks=names, output=tmp_path / model)
        units = tuple(Unit(n) for n in names)
        progress.planned(config, SimpleNamespace(units=units, done=()))
        jobs += [
            SimpleNamespace(key=lambda m=model, u=u: f"{m}:{u.key()}", unit=u, config=config) for u in units
        ]
    for job, seconds in zip(jobs[:2], (120.0, 30.0), strict=True):
        progress.started(job)
        progress.finished(job, {"seconds": seconds})
    text = console.export_text()
    assert text.splitlines()[0].startswith(
        "plan: 2 models x 2 benchmarks, 4 units to run, in this order: mmlu-pro, bbq;"
    )
    assert "2 done, 0 running, 0 failed, 0 retried; about 2.5 min left" in text  # b's units as a's took


def test_threads_auto_keeps_omp_num_threads_else_leaves_busy_cores_alone(monkeypatch) -> None:
    torch = pytest.importorskip("torch")
    import os

    from sosbench.cli._common import set_threads

    before = torch.get_num_threads()
    try:
        assert set_threads("1") == 1 and torch.get_num_threads() == 1
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
        monkeypatch.setattr(os, "getloadavg", lambda: (50.0, 50.0, 50.0))
        assert set_threads("auto") == 1  # every core busy: one thread
        monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
        assert set_threads("auto") == len(os.sched_getaffinity(0))
        monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the user's setting wins over idle cores
        assert set_threads("auto") == 1 and torch.get_num_threads() == 1
        monkeypatch.setenv("OMP_NUM_THREADS", "")  # set but empty: as if unset
        assert set_threads("auto") == len(os.sched_getaffinity(0))
        with pytest.raises(SosbenchError, match="--threads 'many': give auto or a whole number"):
            set_threads("many")
    finally:
        torch.set_num_threads(before)
