"""The degeneracy check (sosbench.results._generations): empty, very short and repetitive generations
and unparsed answers, counted from lm-eval's samples logs as `sosbench run` writes them, and flagged by
`sosbench score` and the report above the documented rate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _synthetic_runs import write_run_folder
from typer.testing import CliRunner

from sosbench.cli import app
from sosbench.results import BenchmarkResult, ModelResults, check_generations, flag_lines
from sosbench.results._generations import FLAG_RATE, classify

MATH_ANSWER = "So x = 2.\nFinal Answer: The final answer is $2$. I hope it is correct."


def _generation_row(doc_id: int, text: str, task: str | None = None) -> dict:
    """A samples-log row of a generate_until request, in lm-eval's own shape."""
    doc = {"prompt": "Write a poem.", **({"task": task} if task else {})}
    return {
        "doc_id": doc_id,
        "doc": doc,
        "arguments": [["<prompt>", {"until": ["</s>"], "max_gen_toks": 64}]],
        "resps": [[text]],
        "filtered_resps": [text],
    }


def _loglikelihood_row(doc_id: int) -> dict:
    return {
        "doc_id": doc_id,
        "arguments": [["ctx", " yes"], ["ctx", " no"]],
        "resps": [[[-0.7, True]], [[-6.4, False]]],
    }


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("", "empty"),
        ("  \n\t", "empty"),
        ("Paris.", "short"),
        ("The capital of France is Paris.", None),
        ("I am sorry. " * 20, "repetitive"),
        (" ".join(f"word{i}" for i in range(60)), None),
    ],
)
def test_classify(text: str, kind: str | None) -> None:
    assert classify(text) == kind


def _run_folder(root: Path, samples: dict[str, list[dict]]) -> Path:
    root.mkdir(parents=True)
    (root / "manifest.json").write_text(json.dumps({"schema_version": 1, "model_name": "m"}))
    for bench, rows in samples.items():
        (root / bench).mkdir()
        (root / bench / "done.json").write_text(json.dumps({"benchmark": bench, "config_hash": "x"}))
        (root / bench / "samples_task.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def _checks(root: Path, samples: dict[str, list[dict]]) -> list:
    """The checks of a run folder holding these samples logs, as `score` and `report` make them: from the
    model its reader returns (here built directly: the folder has samples logs, no results files)."""
    _run_folder(root, samples)
    model = ModelResults("m", {b: BenchmarkResult(b, (), str(root / b / "results.json")) for b in samples})
    return check_generations(model)


def test_counts_and_flags_per_benchmark(tmp_path: Path) -> None:
    texts = ["", "", "ok", "A real answer of several words here.", "I am sorry. " * 20] + [
        "Fine words here."
    ] * 5
    found = _checks(
        tmp_path / "run",
        {
            "ifeval": [_generation_row(i, t) for i, t in enumerate(texts)],
            "math-lvl5": [_generation_row(0, MATH_ANSWER), _generation_row(1, "x is 2, I think so.")],
            "livebench-reasoning": [
                _generation_row(0, "**yes, no, yes**", "web_of_lies_v2"),
                _generation_row(1, "yes no yes and so on", "web_of_lies_v2"),
                _generation_row(2, "the answer is ***cat***", "zebra_puzzle"),  # no format rule: not counted
            ],
            "bbq": [_loglikelihood_row(0), _loglikelihood_row(1)],  # multiple choice: nothing generated
        },
    )
    checks = {c.benchmark: c for c in found}
    assert set(checks) == {"ifeval", "math-lvl5", "livebench-reasoning"}
    ifeval = checks["ifeval"]
    assert (ifeval.generations, ifeval.empty, ifeval.short, ifeval.repetitive) == (10, 2, 1, 1)
    assert ifeval.flagged  # 4 of 10 >= 20%
    assert (checks["math-lvl5"].with_format, checks["math-lvl5"].unparsed) == (2, 1)
    assert checks["math-lvl5"].flagged  # 1 of 2 unparsed
    reasoning = checks["livebench-reasoning"]
    assert (reasoning.with_format, reasoning.unparsed, reasoning.flagged) == (2, 1, True)
    (line, *_) = flag_lines([ifeval])
    assert line.startswith(
        "degenerate generations: m ifeval: 4 of 10 generations degenerate (2 empty, 1 very short"
    )
    assert f"flagged at {FLAG_RATE:.0%} or more" in line


def test_below_the_rate_nothing_is_flagged(tmp_path: Path) -> None:
    texts = ["", *["A perfectly ordinary answer."] * 9]  # 1 of 10 < 20%
    (check,) = _checks(tmp_path / "run", {"ifeval": [_generation_row(i, t) for i, t in enumerate(texts)]})
    assert check.empty == 1 and not check.flagged and flag_lines([check]) == []


def _empty_ifeval_run(folder: Path) -> None:
    """A run folder whose IFEval answers are all empty (its samples logs keep their metrics)."""
    write_run_folder(folder, folder.name)
    log = folder / "ifeval" / "samples_leaderboard_ifeval.jsonl"
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    log.write_text("".join(json.dumps({**r, **_generation_row(r["doc_id"], "")}) + "\n" for r in rows))


def test_score_warns_and_says_it_in_json(tmp_path: Path) -> None:
    """A scored run whose IFEval answers are all empty (an instruct model without its chat template)."""
    _empty_ifeval_run(tmp_path / "a")
    table = CliRunner().invoke(app, ["score", "--bootstrap", "0", str(tmp_path / "a")])
    assert table.exit_code == 0, table.output
    warnings = [line for line in table.stderr.splitlines() if line.startswith("warning: degenerate")]
    assert warnings == [
        "warning: degenerate generations: a ifeval: 4 of 4 generations degenerate (4 empty) "
        f"(flagged at {FLAG_RATE:.0%} or more; docs/scoring.md)"
    ]
    data = json.loads(
        CliRunner().invoke(app, ["score", "--bootstrap", "0", "--format", "json", str(tmp_path / "a")]).stdout
    )
    (check,) = data["generation_checks"]["a"]
    assert check == {
        "benchmark": "ifeval", "generations": 4, "empty": 4, "short": 0, "repetitive": 0,
        "with_answer_format": 0, "unparsed": 0, "flagged": True,
    }  # fmt: skip


def test_the_report_states_a_flagged_benchmark_in_its_notes(tmp_path: Path) -> None:
    _empty_ifeval_run(tmp_path / "a")
    html = tmp_path / "r.html"
    result = CliRunner().invoke(app, ["report", str(tmp_path / "a"), "--bootstrap", "0", "--html", str(html)])
    assert result.exit_code == 0, result.output
    assert "degenerate generations: a ifeval: 4 of 4 generations degenerate (4 empty)" in html.read_text()
