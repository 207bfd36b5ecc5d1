"""`sosbench validate`: every input kind recognised and checked by the loader its command uses."""

from __future__ import annotations

import json
import shutil
from importlib.resources import files
from pathlib import Path

import pytest
import yaml
from _synthetic_runs import write_run_folder
from typer.testing import CliRunner

from sosbench.cli import app

PACKAGE = Path(str(files("sosbench")))


def validate(*paths: Path):
    return CliRunner().invoke(app, ["validate", *(str(p) for p in paths)])


@pytest.fixture()
def good(tmp_path: Path, shared_data: Path) -> dict[str, Path]:
    """One valid file of every kind, from real data where the repository has it."""
    runs = tmp_path / "runs"
    write_run_folder(runs / "m1", "m1", with_samples=False)
    write_run_folder(runs / "m2", "m2", with_samples=False, unfinished=("bbq",))
    models = tmp_path / "models.yaml"
    models.write_text("- {model: hf, model_args: 'pretrained=org/m,dtype=bfloat16', model_name: m}\n")
    lb_answers = tmp_path / "lb_answers.jsonl"
    row = json.loads((shared_data / "livebench" / "dev_answers_cta.jsonl").read_text().splitlines()[0])
    lb_answers.write_text(
        json.dumps(
            {
                "question_id": row["question_id"],
                "model_id": row["model_id"],
                "choices": [{"index": 0, "turns": [row["model_output"]]}],
            }
        )
        + "\n"
    )
    return {
        "folder of run folders": runs,
        "run folder": runs / "m2",
        "benchmark folder": runs / "m1" / "bbq",
        "lm-eval results JSON": runs / "m1" / "bbq" / "results.json",
        "done marker": runs / "m1" / "bbq" / "done.json",
        "run manifest": runs / "m1" / "manifest.json",
        "model list (--models)": models,
        "benchmark suite file": PACKAGE / "suite" / "benchmarks.yaml",
        "scoring constants": PACKAGE / "data" / "scoring" / "scoring.yaml",
        "judge template": PACKAGE / "data" / "judge" / "judge_sos_multicriteria.yaml",
        "judge questions": shared_data / "arena-hard-v0.1" / "question.jsonl",
        "judge answers": shared_data / "arena-hard-v0.1" / "model_answer" / "gpt-4-0613.jsonl",
        "folder of judge answers": shared_data / "arena-hard-v0.1" / "model_answer",
        "LiveBench questions": shared_data / "livebench" / "questions_cta.jsonl",
        "LiveBench answers": lb_answers,
        "LiveBench scores": runs / "m1" / "livebench-math" / "livebench_scores.jsonl",
        "results CSV": shared_data / "artifacts" / "eleuther_wandb.csv",
    }


def test_every_kind_is_recognised_and_ok(good: dict[str, Path]) -> None:
    result = validate(*good.values())
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == len(good)
    for (kind, path), line in zip(good.items(), lines, strict=True):
        assert line.startswith(f"ok: {path} ({kind}"), line
    assert "m2: 23 finished, 1 unfinished" in result.stdout


def test_judgments_file_and_folder(tmp_path: Path) -> None:
    folder = tmp_path / "model_judgment" / "gpt-4o"
    folder.mkdir(parents=True)
    game = {"user_prompt": "p", "judgment": "[[A>B]]", "score": "A>B"}
    (folder / "m.jsonl").write_text(
        json.dumps({"question_id": "q1", "model": "m", "judge": "gpt-4o", "games": [game, game]}) + "\n"
    )
    result = validate(folder / "m.jsonl", folder)
    assert result.exit_code == 0, result.output
    assert result.stdout.count("(judgments: 2 game(s))") == 2


def test_each_failure_is_one_line_and_the_exit_code_is_1(good: dict[str, Path], tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    suite = yaml.safe_load(good["benchmark suite file"].read_text())
    wmdp = next(b for b in suite["benchmarks"] if b["name"] == "wmdp")
    cases = {
        "invrt.yaml": {
            "version": 1,
            "benchmarks": [{**wmdp, "name": "w2", "score": {**wmdp["score"], "invrt": True}}],
        },
        "size.yaml": {"version": 1, "benchmarks": [{**wmdp, "name": "w3", "size": "big"}]},
        "models.yaml": [{"model": "hf", "modle_args": "pretrained=x"}],
        "judge.yaml": {"judge_model": "gpt-4o", "system_prompt": 3},
    }
    for name, data in cases.items():
        (broken / name).write_text(yaml.safe_dump(data))
    (broken / "results_x.json").write_text(json.dumps({"results": {"sos_cdna": {"acc,none": 7.5}}}))
    run = tmp_path / "run"
    shutil.copytree(good["run folder"], run)
    (run / "cdna" / "done.json").write_text("garbage")
    (broken / "binary.jsonl").write_bytes(b"\x00\xff\xfe" * 20)
    paths = [
        *(broken / n for n in cases),
        broken / "results_x.json",
        run,
        broken / "binary.jsonl",
        good["done marker"],
    ]
    result = validate(*paths)
    assert result.exit_code == 1
    errors = result.stderr.splitlines()
    assert len(errors) == len(paths) - 1 and all(line.startswith("error: ") for line in errors)
    expected = [
        "score.invrt",
        "size: Input should be a valid integer",
        "modle_args",
        "system_prompt",
        "sos_cdna/acc is 7.5",
        "done.json:1: not valid JSON",
        "not UTF-8",
    ]
    for line, fragment, path in zip(errors, expected, paths[:-1], strict=True):
        assert fragment in line and str(path) in line, (fragment, line)
    assert result.stdout.splitlines() == [f"ok: {good['done marker']} (done marker)"]


def test_unknown_files_say_what_was_expected(tmp_path: Path) -> None:
    odd = tmp_path / "odd.json"
    odd.write_text(json.dumps({"hello": 1}))
    (tmp_path / "notes.txt").write_text("hello")
    result = validate(odd, tmp_path / "missing.json", tmp_path / "notes.txt")
    assert result.exit_code == 1
    first, second, third = result.stderr.splitlines()
    assert "cannot tell what this file is (keys: hello)" in first
    assert "missing.json: no such file or folder" in second
    assert "unsupported file type .txt" in third
