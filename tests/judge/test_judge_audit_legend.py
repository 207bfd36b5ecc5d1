"""`sosbench judge audit` says why each `-` of its table is there, and which partial runs' factors it left
out."""

from __future__ import annotations

import json
from pathlib import Path

from _synthetic_runs import write_run_folder
from typer.testing import CliRunner

from sosbench.cli import app


def _judgments(folder: Path, models: dict[str, int], questions: int = 6) -> None:
    """Overall and style verdicts: ``models[m]`` questions won against the baseline, in both games."""
    folder.mkdir(parents=True)
    for model, won in models.items():
        lines = []
        for q in range(questions):
            one, two = ("B>A", "A>B") if q < won else ("A>B", "B>A")
            games = [{"score": one, "style_score": one}, {"score": two, "style_score": two}]
            lines.append({"question_id": f"q{q}", "model": model, "judge": "j", "games": games})
        (folder / f"{model}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))


def test_every_dash_of_a_two_model_audit_is_explained(tmp_path: Path) -> None:
    _judgments(tmp_path / "model_judgment" / "j", {"a": 2, "b": 4})
    write_run_folder(tmp_path / "runs" / "a", "a", with_samples=False)
    write_run_folder(tmp_path / "runs" / "b", "b", skip=("gpqa", "xstest"), with_samples=False)
    out = tmp_path / "audit.json"
    args = ["judge", "audit", "-J", str(tmp_path / "model_judgment" / "j"), "--runs", str(tmp_path / "runs")]
    result = CliRunner().invoke(app, [*args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    dashes = result.stdout.count(" - ")
    assert dashes == 2 * 5  # pearson and spearman of style and of the four factors
    legend = [line for line in result.stdout.splitlines() if line.startswith(("- (", "note: "))]
    assert legend == [
        "- (j: style, factor IF): undefined: 2 models with both scores, 3 needed",
        "- (j: factor Overall, factor Safety, factor WK): undefined: 1 model with both scores, 3 needed",
        "note: b: WK (misses gpqa), Safety (misses xstest), Overall (over all 3 factors, some of them "
        "partial) left out of the factor correlations: a partial run's factor is a mean over other "
        "benchmarks, not comparable with complete ones",
    ]
    audit = json.loads(out.read_text())
    assert audit["judges"][0]["criteria"]["style"]["why"] == "2 models with both scores, 3 needed"
    assert audit["notes"] == [legend[-1].removeprefix("note: ")]


def test_a_constant_criterion_is_explained(tmp_path: Path) -> None:
    folder = tmp_path / "model_judgment" / "j"
    _judgments(folder, {"a": 1, "b": 3, "c": 5})
    for path in folder.glob("*.jsonl"):  # style: always a tie, so every model's style score is 50
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        for row in rows:
            for game in row["games"]:
                game["style_score"] = "A=B"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = CliRunner().invoke(app, ["judge", "audit", "-J", str(folder)])
    assert result.exit_code == 0, result.output
    assert "- (j: style): undefined: every model has the same score, so nothing varies to correlate" in (
        result.stdout
    )


def test_a_judge_without_criterion_verdicts_is_explained(tmp_path: Path) -> None:
    folder = tmp_path / "model_judgment" / "j"
    _judgments(folder, {"a": 1, "b": 3, "c": 5})
    for path in folder.glob("*.jsonl"):  # overall verdicts only
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        for row in rows:
            for game in row["games"]:
                del game["style_score"]
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = CliRunner().invoke(app, ["judge", "audit", "-J", str(folder)])
    assert result.exit_code == 0, result.output
    assert "(no criterion verdicts)" in result.stdout
    assert "- (j): its verdicts carry no criterion scores, only overall ones" in result.stdout
