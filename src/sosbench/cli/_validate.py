"""`sosbench validate`: check input files without running anything.

Each path's kind is recognised from its name, then its content; the check is the loader that the
commands themselves use (so "ok" means the command will read it), including the loaders that other
layers own: model lists (`sosbench.run`), judge templates, answers and judgments (`sosbench.judge`),
benchmark suite files (`sosbench.suite`), LiveBench answers (`sosbench.livebench`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from sosbench._io import iter_jsonl, read_json, read_yaml
from sosbench.errors import SosbenchError, input_problem

Check = Callable[[Path], str | None]
"""Validates one path; returns an optional detail for the ``ok`` line."""


def _results(path: Path) -> str | None:
    from sosbench.results import read_lmeval_benchmark, read_results_json
    from sosbench.rundir import RESULTS
    from sosbench.suite import registry

    if path.name == RESULTS and path.parent.name in registry():  # a run folder's benchmark
        return read_lmeval_benchmark(registry().get(path.parent.name), path.parent).name
    return ", ".join(sorted(read_results_json(path).benchmarks))


def _done(path: Path) -> str | None:
    from sosbench.rundir import is_shard_name, read_done

    shard = is_shard_name(path.parent.name)  # DIR/.shards/<benchmark>/<k>-of-<n>/done.json
    read_done(path, path.parent.parent.name if shard else path.parent.name)
    return None


def _manifest(path: Path) -> str | None:
    from sosbench.rundir import read_manifest

    return read_manifest(path).model_name


def _run_folder(path: Path) -> str | None:
    from sosbench.results import read_run_folder

    results = read_run_folder(path)
    unfinished = sum("unfinished" in note for note in results.notes)
    return f"{results.model}: {len(results.benchmarks)} finished, {unfinished} unfinished benchmark(s)"


def _runs_parent(path: Path) -> str | None:
    from sosbench.results import read_run_folder, run_folders_in

    runs = run_folders_in(path)
    for run in runs:
        read_run_folder(run)
    return f"{len(runs)} run folder(s)"


def _benchmark_folder(path: Path) -> str | None:
    """One benchmark of a run folder: its done marker (if finished) and its results with their samples."""
    from sosbench.rundir import DONE, LIVEBENCH_SCORES, RESULTS

    if (path / DONE).is_file():
        _done(path / DONE)
    if (path / RESULTS).is_file():
        return _results(path / RESULTS)
    if (path / LIVEBENCH_SCORES).is_file():
        return _scores_or_csv(path / LIVEBENCH_SCORES)
    return None


def _model_list(path: Path) -> str | None:
    from sosbench.run import load_model_specs

    return f"{len(load_model_specs(path))} model(s)"


def _suite(path: Path) -> str | None:
    from sosbench.suite import read_suite_file

    return f"{len(read_suite_file(path))} benchmark(s)"


def _scoring(path: Path) -> str | None:
    from sosbench.results import read_scoring_file

    read_scoring_file(path)
    return None


def _template(path: Path) -> str | None:
    from sosbench.judge import load_template

    load_template(str(path))
    return None


def _judge_answers(path: Path) -> str | None:
    from sosbench.judge import read_answers

    return f"{len(read_answers(path))} answer(s)"


def _judge_questions(path: Path) -> str | None:
    from sosbench.judge import read_questions

    return f"{len(read_questions(path))} question(s)"


def _judgments(path: Path) -> str | None:
    from sosbench.judge import read_judgments

    if path.is_dir():
        return f"{len(read_judgments(path))} game(s)"
    with tempfile.TemporaryDirectory() as folder:  # the judge reads whole folders: give it this file alone
        (Path(folder) / path.name).symlink_to(path.resolve())
        games = read_judgments(Path(folder))
    return f"{len(games)} game(s)"


def _livebench_answers(path: Path) -> str | None:
    from sosbench.livebench import read_model_answers

    return f"{len(read_model_answers(path))} answer(s)"


def _livebench_questions(path: Path) -> str | None:
    from sosbench.livebench import load_questions

    return f"{len(load_questions(path))} question(s) of the release"


def _scores_or_csv(path: Path) -> str | None:
    from sosbench.results import read_path

    return f"{len(read_path(path))} model(s)"


CHECKS: dict[str, Check] = {
    "lm-eval results JSON": _results,
    "done marker": _done,
    "run manifest": _manifest,
    "run folder": _run_folder,
    "folder of run folders": _runs_parent,
    "benchmark folder": _benchmark_folder,
    "model list (--models)": _model_list,
    "benchmark suite file": _suite,
    "scoring constants": _scoring,
    "judge template": _template,
    "judge answers": _judge_answers,
    "judge questions": _judge_questions,
    "judgments": _judgments,
    "LiveBench answers": _livebench_answers,
    "LiveBench questions": _livebench_questions,
    "LiveBench scores": _scores_or_csv,
    "results CSV": _scores_or_csv,
}

_BY_NAME = {"scoring.yaml": "scoring constants", "benchmarks.yaml": "benchmark suite file"}
"""Kinds known by file name besides the run folder's own files (named in ``sosbench.rundir``)."""
_TEMPLATE_KEYS = {"judge_model", "system_prompt", "prompt_template", "regex_pattern", "pairwise"}


def _jsonl_kind(path: Path) -> str:
    first = next(iter_jsonl(path), None)
    if first is None:
        raise SosbenchError(f"{path}: empty: nothing to check")
    row = first[1]
    if "games" in row:
        return "judgments"
    if "score" in row and "task" in row:
        return "LiveBench scores"
    turns = row.get("turns")
    choices = row.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        first = (choices[0].get("turns") or [None])[0]
        return "LiveBench answers" if isinstance(first, str) else "judge answers"
    if "messages" in row:
        return "judge answers"
    if isinstance(turns, list) and "task" in row:
        return "LiveBench questions"
    if isinstance(turns, list) or "prompt" in row:
        return "judge questions"
    raise SosbenchError(
        f"{path}: cannot tell what this JSONL holds (first line keys: {', '.join(sorted(row)[:6])}): "
        "expected judgments, answers, questions or LiveBench scores"
    )


def _structured(path: Path) -> Any:
    return read_json(path) if path.suffix == ".json" else read_yaml(path)


def _mapping_kind(path: Path, data: Any) -> str:
    if isinstance(data, list):
        if data and all(isinstance(d, dict) and "score" in d for d in data):
            return "LiveBench scores"
        return "model list (--models)"
    if not isinstance(data, dict):
        raise SosbenchError(f"{path}: holds a {type(data).__name__}, not a file sosbench reads")
    keys = set(data)
    if "results" in keys:
        return "lm-eval results JSON"
    if "benchmarks" in keys and "version" in keys:
        return "benchmark suite file"
    if keys & {"answer_choices", "livebench_task_questions"}:
        return "scoring constants"
    if keys & _TEMPLATE_KEYS:
        return "judge template"
    if {"benchmark", "config_hash"} <= keys:
        return "done marker"
    if "model_name" in keys and "config_hash" in keys:
        return "run manifest"
    raise SosbenchError(
        f"{path}: cannot tell what this file is (keys: {', '.join(sorted(keys)[:6])}): "
        "expected results, a done "
        "marker, a manifest, a model list, benchmarks, scoring constants or a judge template"
    )


def detect(path: Path) -> str:
    """The kind of one input, from its name first and then its content."""
    from sosbench.results import run_folders_in
    from sosbench.rundir import DONE, MANIFEST, RESULTS

    if path.is_dir():
        if (path / MANIFEST).is_file():
            return "run folder"
        if run_folders_in(path):
            return "folder of run folders"
        if (path / DONE).is_file() or (path / RESULTS).is_file():
            return "benchmark folder"
        files = sorted(path.glob("*.jsonl"))
        if files:
            kind = _jsonl_kind(files[0])
            return kind if kind in ("judgments", "LiveBench answers") else f"folder of {kind}"
        raise SosbenchError(
            f"{path}: a folder with neither {MANIFEST}, run folders, a benchmark's {DONE} nor JSONL files"
        )
    if not path.exists():
        raise SosbenchError(f"{path}: no such file or folder: check the path")
    by_name = {**_BY_NAME, DONE: "done marker", MANIFEST: "run manifest", RESULTS: "lm-eval results JSON"}
    if path.name in by_name:
        return by_name[path.name]
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return _jsonl_kind(path)
    if suffix == ".csv":
        return "results CSV"
    if suffix in (".json", ".yaml", ".yml"):
        if path.name.startswith("results") and suffix == ".json":
            return "lm-eval results JSON"
        return _mapping_kind(path, _structured(path))
    raise SosbenchError(
        f"{path}: unsupported file type {suffix or '(none)'}: expected .json, .jsonl, .yaml or .csv"
    )


def _each_file(kind: str) -> Check:
    """A folder of files of one kind (a model_answer/ folder of judge answers): each file checked."""

    def check_files(folder: Path) -> str | None:
        files = sorted(folder.glob("*.jsonl"))
        for file in files:
            CHECKS[kind](file)
        return f"{len(files)} file(s)"

    return check_files


def check(path: Path) -> tuple[bool, str]:
    """``(ok, line)`` for one path; a bug in a loader is not caught here (the app reports it)."""
    try:
        kind = detect(path)
        inner = kind.removeprefix("folder of ")
        detail = (CHECKS[kind] if kind in CHECKS else _each_file(inner))(path)
    except Exception as exc:
        message = input_problem(exc)
        if message is None:
            raise
        return False, f"error: {message if str(path) in message else f'{path}: {message}'}"
    return True, f"ok: {path} ({kind}{': ' + detail if detail else ''})"


def validate(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Files or folders: results JSON, done.json, manifest.json, run folders, --models lists, "
            "benchmarks.yaml / plugin suites, scoring.yaml, judge templates, answers, judgments, LiveBench "
            "answers, questions and scores, results CSVs.",
            metavar="PATH...",
        ),
    ],
) -> None:
    """Check input files without running anything: one line per path, `ok` or the error; exit 1 if any failed.

    Example: `sosbench validate runs/llama3 models.yaml my_judge.yaml judge/model_answer/my-model.jsonl`
    """
    failed = 0
    for path in paths:
        ok, line = check(path)
        failed += not ok
        typer.echo(line, err=not ok)
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add `sosbench validate` to the root app."""
    app.command("validate")(validate)
