"""`sosbench livebench score` on real LiveBench answers, the roll-up formulas, and the file formats
others read."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from _cli import sosbench_in_process

from sosbench.livebench import average_score, category_scores, groups_csv, tasks_csv


@pytest.fixture(scope="module")
def answers(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dev answers of ../shared/data/livebench as LiveBench model_answer files, one per model."""
    folder = tmp_path_factory.mktemp("model_answer")
    for task in ("cta", "tablejoin", "web_of_lies_v2", "zebra_puzzle", "math_comp"):
        for line in (shared_data / "livebench" / f"dev_answers_{task}.jsonl").read_text().splitlines():
            row = json.loads(line)
            record = {
                "question_id": row["question_id"],
                "answer_id": "a",
                "model_id": row["model_id"],
                "choices": [{"index": 0, "turns": ["ignored first turn", row["model_output"]]}],
                "tstamp": 0.0,
            }
            with (folder / f"{row['model_id']}.jsonl").open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")
    return folder


def _reference_means(shared_data: Path) -> dict[tuple[str, str], float]:
    sums: dict[tuple[str, str], list[float]] = {}
    for task in ("cta", "tablejoin", "web_of_lies_v2", "zebra_puzzle", "math_comp"):
        for line in (shared_data / "livebench" / f"dev_answers_{task}.jsonl").read_text().splitlines():
            row = json.loads(line)
            sums.setdefault((row["model_id"], task), []).append(row["reference_score"])
    return {key: 100 * sum(v) / len(v) for key, v in sums.items()}


def test_score_command_writes_rows_tables_and_csvs(shared_data: Path, answers: Path, tmp_path: Path) -> None:
    out, csv_dir = tmp_path / "scores.jsonl", tmp_path / "csv"
    result = sosbench_in_process(
        "livebench",
        "score",
        "--questions",
        str(shared_data / "livebench"),
        "--answers",
        str(answers),
        "--output",
        str(out),
        "--csv-dir",
        str(csv_dir),
        "--workers",
        "2",
        "--format",
        "json",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 60 + 60 + 30 + 30 + 58
    assert set(rows[0]) == {"question_id", "task", "category", "score", "model_id"}
    summary = json.loads(result.stdout)
    for (model, task), mean in _reference_means(shared_data).items():
        assert summary[model]["tasks"][task] == pytest.approx(mean, abs=1e-9)
    bs4 = summary["zft-community-8b-bs4"]
    assert bs4["categories"]["reasoning"] == pytest.approx(
        (bs4["tasks"]["web_of_lies_v2"] + bs4["tasks"]["zebra_puzzle"]) / 2
    )
    assert (
        "data_analysis" not in bs4["categories"] and bs4["average"] is None
    )  # tablereformat not scored here
    header = (csv_dir / "livebench_tasks.csv").read_text().splitlines()[0]
    assert header == "model,cta,math_comp,tablejoin,web_of_lies_v2,zebra_puzzle"
    assert str(out) in result.stderr


def test_scores_feed_the_results_reader(shared_data: Path, answers: Path, tmp_path: Path) -> None:
    from sosbench.results import read_livebench_scores

    out = tmp_path / "scores.jsonl"
    result = sosbench_in_process(
        "livebench", "score", "-q", str(shared_data / "livebench"), "-a", str(answers), "-o", str(out)
    )
    assert result.returncode == 0, result.stderr[-2000:]
    read = read_livebench_scores(out)
    reasoning = read["zft-community-8b-bs4"]["livebench-reasoning"]
    means = _reference_means(shared_data)
    expected = (
        means[("zft-community-8b-bs4", "web_of_lies_v2")] + means[("zft-community-8b-bs4", "zebra_puzzle")]
    ) / 200
    assert sum(c.value for c in reasoning.components) / len(reasoning.components) == pytest.approx(expected)


def test_bad_paths_are_one_line_errors(shared_data: Path, tmp_path: Path) -> None:
    result = sosbench_in_process(
        "livebench", "score", "-q", str(tmp_path / "missing.jsonl"), "-a", str(tmp_path)
    )
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: questions not found") and "Traceback" not in result.stderr
    result = sosbench_in_process(
        "livebench", "score", "-q", str(shared_data / "livebench"), "-a", str(tmp_path / "none.jsonl")
    )
    assert result.returncode == 1 and "error: answers not found" in result.stderr
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps({"question_id": "x", "choices": []}) + "\n")
    result = sosbench_in_process(
        "livebench", "score", "-q", str(shared_data / "livebench"), "-a", str(broken)
    )
    assert result.returncode == 1 and "no choices[0].turns[-1]" in result.stderr


def test_rollup_reproduces_the_sos_artifact(tmp_path: Path) -> None:
    """Categories/average recomputed from livebench_tasks.csv match livebench_groups.csv (display
    rounding)."""
    from importlib.resources import files

    data = files("sosbench").joinpath("data/artifacts")
    tasks = list(csv.DictReader(io.StringIO(data.joinpath("livebench_tasks.csv").read_text())))
    groups = {
        row["model"]: row
        for row in csv.DictReader(io.StringIO(data.joinpath("livebench_groups.csv").read_text()))
    }
    checked = 0
    for row in tasks:
        if any(value == "" for value in row.values()) or row["model"] not in groups:
            continue
        per_task = {task: float(value) for task, value in row.items() if task != "model"}
        categories = category_scores(per_task)
        recomputed = {**categories, "average": average_score(categories)}
        for column, value in groups[row["model"]].items():
            if column != "model" and value != "":
                assert recomputed[column] == pytest.approx(float(value), abs=0.0505), (
                    row["model"],
                    column,
                )  # 1-decimal display + 3-decimal task rounding
        exported = next(csv.DictReader(io.StringIO(groups_csv({row["model"]: per_task}))))
        assert float(exported["average"]) == round(recomputed["average"], 1)
        checked += 1
    assert checked >= 140
    assert set(category_scores(per_task)) == {
        "coding",
        "data_analysis",
        "instruction_following",
        "language",
        "math",
        "reasoning",
    }
    assert tasks_csv({"m": {"cta": 40.0, "AMPS_Hard": 35.48387}}) == "model,AMPS_Hard,cta\nm,35.484,40\n"


def test_answers_outside_the_release_are_counted_and_explained(shared_data: Path, tmp_path: Path) -> None:
    """Answers to later-release questions (../shared/data/livebench/offrelease) are not scored, and one
    line says so."""
    folder = tmp_path / "model_answer"
    folder.mkdir()
    for source in (
        shared_data / "livebench" / "dev_answers_cta.jsonl",
        shared_data / "livebench" / "offrelease" / "dev_answers_paraphrase.jsonl",
    ):
        with (folder / "zft.jsonl").open("a", encoding="utf-8") as handle:
            for line in source.read_text().splitlines():
                row = json.loads(line)
                handle.write(
                    json.dumps(
                        {
                            "question_id": row["question_id"],
                            "model_id": row["model_id"],
                            "choices": [{"index": 0, "turns": [row["model_output"]]}],
                        }
                    )
                    + "\n"
                )
    stray = {
        "question_id": "not-a-livebench-question",
        "model_id": "zft-community-8b-bs4",
        "choices": [{"index": 0, "turns": ["x"]}],
    }
    with (folder / "zft.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(stray) + "\n")
    out = tmp_path / "scores.jsonl"
    result = sosbench_in_process(
        "livebench",
        "score",
        "-q",
        str(shared_data / "livebench"),
        "-a",
        str(folder),
        "-o",
        str(out),
        "--workers",
        "1",
        "--format",
        "json",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert notes == [
        "note: 61 of 121 answers left out: 60 answer questions released after 2024-06-24 "
        "(pass --release to score them); 1 answer no question of release 2024-06-24 in --questions "
        "(removed before it, or another question set)"
    ]
    assert len(out.read_text().splitlines()) == 60  # the cta answers, all scored
