"""`sosbench compare`: paired item-level differences, tests, adjustment and verdicts."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from _cli import run_args, sosbench
from _paths import REPO
from _synthetic_runs import perturb_run, planted_pair, write_run_folder
from typer.testing import CliRunner

from sosbench.analysis import adjust_pvalues, compare_runs, read_run
from sosbench.cli import app
from sosbench.errors import SosbenchError

sys.path.insert(0, str(REPO / "benchmarks"))


def _invoke(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def _flip_samples(path: Path, metric: str, count: int) -> None:
    """Make the first ``count`` wrong items right (a planted per-item gain)."""
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for row in [r for r in rows if r[metric] == 0.0][:count]:
        row[metric] = 1.0
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture()
def runs(tmp_path: Path) -> tuple[Path, Path]:
    write_run_folder(tmp_path / "base", "base")
    write_run_folder(tmp_path / "cand", "cand")
    return tmp_path / "base", tmp_path / "cand"


def test_identical_runs_change_nothing(runs):
    base, _ = runs
    result = _invoke(
        "compare", str(base), str(base), "--format", "json", "--bootstrap", "200", "--permutations", "200"
    )
    data = json.loads(result.stdout)["comparisons"][0]
    assert {r["verdict"] for r in data["rows"]} == {"no detectable change"}
    assert all(r["diff"] == 0 and r["ci"] == [0, 0] for r in data["rows"])
    assert {"WK", "IF", "Safety", "Overall"} <= {r["name"] for r in data["rows"]}


def test_planted_flips_are_counted_and_signed(runs):
    base, cand = runs
    _flip_samples(cand / "gpqa" / "samples_leaderboard_gpqa_main.jsonl", "acc_norm", 3)
    comparison = compare_runs(read_run(base), read_run(cand), rounds=500, permutations=500)
    row = next(r for r in comparison.rows if r.name == "gpqa")
    assert (row.lost, row.gained) == (0, 3)
    assert row.diff > 0 and row.test == "paired permutation"  # three subtasks: not a single 0/1 mean
    assert row.ci[0] >= 0 and row.ci_unpaired[1] - row.ci_unpaired[0] > row.ci[1] - row.ci[0]
    csv_out = _invoke(
        "compare", str(base), str(cand), "--format", "csv", "--bootstrap", "200", "--permutations", "200"
    )
    lines = csv_out.stdout.splitlines()
    assert lines[0].startswith("# cand: summary: ")
    assert next(line for line in lines if not line.startswith("#")).startswith("candidate,name,kind,partial")


def test_refuses_runs_of_different_protocol_or_limit(runs):
    base, cand = runs
    manifest = json.loads((cand / "manifest.json").read_text())
    (cand / "manifest.json").write_text(json.dumps({**manifest, "protocol": "corrected"}))
    with pytest.raises(SosbenchError, match="protocols differ"):
        compare_runs(read_run(base), read_run(cand))
    (cand / "manifest.json").write_text(json.dumps({**manifest, "config": {"limit": 5}}))
    with pytest.raises(SosbenchError, match="--limit differs"):
        compare_runs(read_run(base), read_run(cand))


def test_refuses_different_task_versions(runs):
    base, cand = runs
    path = cand / "gpqa" / "results.json"
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "versions": {"leaderboard_gpqa_main": 2.0}}))
    with pytest.raises(SosbenchError, match="gpqa: task versions differ"):
        compare_runs(read_run(base), read_run(cand))


def test_lm_eval_results_with_timestamped_samples(runs, tmp_path: Path):
    """A plain lm-eval output folder (results_<ts>.json, samples_<task>_<ts>.jsonl) pairs like a run."""
    base, _ = runs
    stamp = "2024-08-01T10-00-00.000001"
    out = tmp_path / "lm-eval" / "org__model"
    out.mkdir(parents=True)
    data = json.loads((base / "gpqa" / "results.json").read_text())
    (out / f"results_{stamp}.json").write_text(json.dumps({**data, "model_name": "org/model"}))
    for log in (base / "gpqa").glob("samples_*.jsonl"):
        (out / f"{log.stem}_{stamp}.jsonl").write_text(log.read_text())
    plain = read_run(tmp_path / "lm-eval")
    assert plain.model == "model" and list(plain.benchmarks) == ["gpqa"]
    comparison = compare_runs(read_run(base), plain, rounds=200, permutations=200)
    assert comparison.notes and [r.name for r in comparison.rows] == ["gpqa"]
    assert comparison.rows[0].diff == 0.0


def test_refuses_items_with_different_prompts(runs):
    base, cand = runs
    for folder, prompt in ((base, "a"), (cand, "b")):
        path = folder / "gpqa" / "samples_leaderboard_gpqa_main.jsonl"
        rows = [{**json.loads(line), "prompt_hash": prompt} for line in path.read_text().splitlines()]
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(SosbenchError, match="different prompts"):
        compare_runs(read_run(base), read_run(cand))


def test_bad_options_are_one_line_errors(runs):
    base, cand = runs
    for options, message in (
        (["--alpha", "2"], "--alpha"),
        (["--adjust", "x"], "--adjust"),
        (["--format", "x"], "--format"),
    ):
        result = CliRunner().invoke(app, ["compare", str(base), str(cand), *options])
        assert result.exit_code == 1
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith("error: ") and message in line


def test_mcnemar_and_equivalence_on_planted_pairs():
    rng = np.random.default_rng(0)
    base, cand = planted_pair(rng, ("gpqa", "mmlu-pro"), planted="gpqa")
    comparison = compare_runs(base, cand, rounds=500, permutations=500, margin=3.0)
    planted, other = comparison.rows
    assert planted.test == "exact McNemar" and planted.verdict == "better"
    assert planted.ci[0] <= 0.05 <= planted.ci[1]
    assert planted.diff == pytest.approx((planted.gained - planted.lost) / 500)
    assert other.verdict in ("equivalent", "no detectable change") and other.mde > 0
    assert other.p_tost is not None


def test_holm_and_bh_match_their_definitions():
    p = [0.01, 0.04, 0.03, 0.2]
    assert np.allclose(adjust_pvalues(p, "holm"), [0.04, 0.09, 0.09, 0.2])
    assert np.allclose(adjust_pvalues(p, "bh"), [0.04, 0.0533333, 0.0533333, 0.2])


def test_power_study_small():
    """A 10-repetition version of benchmarks/compare_power.py (the 100-repetition rates are printed there)."""
    from compare_power import study

    counts = study(10, 500, rounds=300, permutations=300)
    assert counts["found_and_covered"] >= 9
    assert counts["false_alarms"] <= 1
    assert counts["paired_narrower"] == 10


def _write_judge(folder: Path, wins: dict[str, int], questions: int = 60) -> None:
    """Arena-Hard-Auto judgments: ``wins[model]`` of the questions won against the baseline in both games."""
    folder.mkdir(parents=True)
    for model, won in wins.items():
        lines = []
        for q in range(questions):
            label_b, label_a = ("B>A", "A>B") if q < won else ("A>B", "B>A")  # game 1 has the model in B
            games = [{"user_prompt": "", "judgment": "", "score": s} for s in (label_b, label_a)]
            lines.append({"question_id": f"q{q}", "model": model, "judge": "j", "games": games})
        (folder / f"{model}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))


def test_judge_only_gain_is_flagged(runs, tmp_path: Path):
    base, cand = runs
    judge = tmp_path / "model_judgment" / "j"
    _write_judge(judge, {"base": 15, "cand": 45})
    result = _invoke(
        "compare",
        str(base),
        str(cand),
        "--judgments",
        str(judge),
        "--format",
        "json",
        "--bootstrap",
        "1000",
        "--permutations",
        "200",
    )
    data = json.loads(result.stdout)["comparisons"][0]
    row = next(r for r in data["rows"] if r["kind"] == "judge")
    assert row["diff"] > 0.3 and row["ci"][0] > 0 and row["verdict"] == "better"
    assert data["judge_only_gain"] is True


@pytest.mark.slow
def test_real_model_against_itself_and_a_damaged_copy(tiny_model: Path, sample_mirror: Path, tmp_path: Path):
    """The tiny random model twice with --limit changes nothing; a copy with perturbed weights answers
    differently, and the flips it reports are what moved the score. (A random model is at chance, so
    its damaged copy is not worse in expectation: "worse" can only be checked on a trained model.)"""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    damaged = tmp_path / "damaged"
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    torch.manual_seed(0)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(torch.randn_like(param) * param.std().clamp(min=0.02) * 3)
    model.save_pretrained(damaged)
    AutoTokenizer.from_pretrained(tiny_model).save_pretrained(damaged)
    outs = {}
    for name, path in (("a", tiny_model), ("b", tiny_model), ("damaged", damaged)):
        outs[name] = tmp_path / name
        args = run_args(
            path,
            sample_mirror,
            outs[name],
            ["mmlu-pro"],
            "--model-name",
            name,
            limit=30,
            batch_size="8",
            max_gen_toks=None,
        )
        done = sosbench(*args)
        assert done.returncode == 0, done.stderr[-2000:]
    same = compare_runs(read_run(outs["a"]), read_run(outs["b"]), rounds=300, permutations=300)
    assert [(r.diff, r.lost, r.gained, r.verdict) for r in same.rows] == [(0.0, 0, 0, "no detectable change")]
    worse = compare_runs(read_run(outs["a"]), read_run(outs["damaged"]), rounds=300, permutations=300)
    row = worse.rows[0]
    assert row.lost + row.gained > 0 and row.diff == pytest.approx((row.gained - row.lost) / row.n)


def test_paper_pairs_have_analytic_cis_and_the_judge_only_flag():
    """The paper's SFT -> PO pairs: aggregates only, so independent analytic CIs (docs/scoring.md). Every
    pair has some factor whose CI is above 0 (IF for the Ultrachat PO models, Safety for Magpie), so no
    pair is a judge-only gain though Magpie's Arena-Hard CI is far above 0."""
    from sosbench.analysis import paper_analysis

    deltas = {d.po: d for d in paper_analysis(bootstrap=0).deltas}
    dpo = deltas["Llama-3-8B-Ultrachat-DPO"]
    low, high = dpo.factor_ci["IF"]
    assert low < dpo.factors["IF"] < high and dpo.arena_hard_ci[0] < dpo.arena_hard < dpo.arena_hard_ci[1]
    assert dpo.to_json()["ci_method"].startswith("analytic from stderr (aggregates only")
    magpie = deltas["Llama-3-8B-Magpie-Align-v0.2"]
    assert magpie.arena_hard_ci[0] > 10 and magpie.factor_ci["Safety"][0] > 0
    assert not any(d.judge_only_gain for d in deltas.values())


@pytest.mark.parametrize(
    ("judge", "factors", "flagged"),
    [
        ((0.5, 3.0), {"WK": (-1.0, 1.0), "IF": (-0.5, 2.0), "Safety": (-2.0, 0.1)}, True),
        ((0.5, 3.0), {"WK": (-1.0, 1.0), "IF": (0.2, 2.0), "Safety": None}, False),  # a factor improved
        ((-0.1, 3.0), {"WK": (-1.0, 1.0)}, False),  # the judge's CI reaches 0
        ((0.0, 3.0), {"WK": (-1.0, 1.0)}, False),  # ... touches 0: not above it
        ((0.5, 3.0), {"WK": (0.0, 1.0), "IF": (-1.0, 1.0)}, True),  # a factor's CI touching 0 is no gain
        ((0.5, 3.0), {"WK": None, "Overall": (-1.0, 1.0)}, False),  # no factor measured
        ((0.5, 3.0), {"WK": (-1.0, 1.0), "Overall": (0.1, 1.0)}, True),  # Overall is not a factor
        (None, {"WK": (-1.0, 1.0)}, False),
    ],
)
def test_judge_only_gain_definition(judge, factors, flagged):
    from sosbench.analysis import judge_only_gain

    assert judge_only_gain(judge, factors) is flagged


def _short(name: str) -> str:
    return "lb-" + name.removeprefix("livebench-") if name.startswith("livebench-") else name


def test_the_table_reads_at_80_columns_with_every_cell_whole(tmp_path: Path) -> None:
    """Piped output is 80 columns: the table splits in two with a legend, and no cell is cut; a wide
    terminal gets one table with the full names."""
    from _tables import assert_not_cut, render

    base, cand = tmp_path / "base", tmp_path / "cand"
    write_run_folder(base, "base", skip=("gpqa",))
    write_run_folder(cand, "cand", skip=("gpqa",))
    perturb_run(cand, seed=2)
    judge = tmp_path / "model_judgment" / "claude-3-5-sonnet-20240620"
    _write_judge(judge, {"base": 20, "cand": 40})
    args = ["compare", str(base), str(cand), "--judgments", str(judge), "--allow-partial"]
    args += ["--bootstrap", "200", "--permutations", "200"]
    data = json.loads(_invoke(*args, "--format", "json").stdout)["comparisons"][0]
    narrow = render(*args)
    cells = ["judge"] + [_short(r["name"]) + (" *" if r["partial"] else "") for r in data["rows"][:-1]]
    cells += [f"[{r['ci'][0] * 100:+.1f}, {r['ci'][1] * 100:+.1f}]" for r in data["rows"]]
    assert_not_cut(narrow, cells)
    words = " ".join(narrow.split())  # the legend and the summary wrap at word boundaries
    assert "tests" in narrow and "n.d. = no detectable change" in words
    assert "judge = judge (claude-3-5-sonnet-20240620)" in words
    assert "* WK: partial, over 9 of 10 benchmarks (--allow-partial)" in words
    assert "bootstrap over battles" in words and "paired item bootstrap" in words
    assert "summary: " in words and "no detectable change is not evidence of no change" in words
    wide = render(*args, width=200)
    full = [r["name"] + (" *" if r["partial"] else "") for r in data["rows"]]
    assert_not_cut(wide, [*full, "no detectable change"], width=200)
    assert "tests" not in wide.splitlines()[0]


def test_summary_and_limit_marks(tmp_path: Path) -> None:
    """The one-line summary says what changed and what could not be seen; a --limit pair says so."""
    rng = np.random.default_rng(3)
    base, cand = planted_pair(rng, ("gpqa", "mmlu-pro", "bbq"), planted="gpqa", n=400, effect_items=40)
    comparison = compare_runs(base, cand, rounds=300, permutations=300)
    assert comparison.summary.startswith("better: gpqa;")
    assert "2 of 3 rows no detectable change: at this n only changes above ~" in comparison.summary
    base.limit = cand.limit = 30
    limited = compare_runs(base, cand, rounds=300, permutations=300)
    assert limited.summary.startswith("better: gpqa (30 items per task);")
    assert limited.to_json()["items_per_task"] == "30 items per task"
    same = compare_runs(base, base, rounds=300, permutations=300)
    assert same.summary.startswith("no row changed: the two runs score every shared item the same")


def test_partial_rows_are_marked_in_every_format(tmp_path: Path) -> None:
    base, cand = tmp_path / "base", tmp_path / "cand"
    for folder in (base, cand):
        write_run_folder(folder, folder.name, skip=("ifeval",))
    args = ["compare", str(base), str(cand), "--allow-partial", "--bootstrap", "200", "--permutations", "200"]
    data = json.loads(_invoke(*args, "--format", "json").stdout)["comparisons"][0]
    partial = {r["name"]: r["partial"] for r in data["rows"] if r["partial"]}
    assert partial == {"IF": "1 of 2 benchmarks", "Overall": "all 3 factors, some of them partial"}
    assert any(n.startswith("IF is partial: over 1 of 2 benchmarks (ifeval missing)") for n in data["notes"])
    rows = list(
        csv.DictReader(
            line for line in _invoke(*args, "--format", "csv").stdout.splitlines() if line[0] != "#"
        )
    )
    assert {r["name"]: r["partial"] for r in rows if r["partial"]} == partial
    strict = json.loads(_invoke(*args[:3], "--format", "json", *args[4:]).stdout)["comparisons"][0]
    assert "IF" not in {r["name"] for r in strict["rows"]}
    assert any(n.startswith("IF: 1 benchmark not in both runs (ifeval), no row") for n in strict["notes"])
