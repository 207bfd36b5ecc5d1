"""Scoring formulas against hand-computed numbers, CIs (analytic and bootstrap), partial factors,
normalisation."""

from __future__ import annotations

import ast
import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from _suite_plugin import PLUGIN_ENTRY
from _synthetic_runs import write_run_folder

from sosbench.errors import SosbenchError
from sosbench.results import BenchmarkResult, Component, Items, ModelResults
from sosbench.scoring import (
    FACTOR_NAMES,
    answer_choices,
    component_rounds,
    random_baseline,
    score_model,
    score_paths,
    to_csv,
)
from sosbench.suite import benchmarks, get_benchmark, livebench_release

Z = 1.959963984540054

# Hand-chosen component values (see test_formula for the arithmetic).
LIVEBENCH_WK = 0.3
VALUES = {
    "bbh": [0.4] * 12 + [0.6] * 12,  # 0.5
    "gpqa": [0.3, 0.4, 0.5],  # 0.4
    "musr": [0.5, 0.6, 0.7],  # 0.6
    "math-lvl5": [0.1] * 7,  # 0.1
    "mmlu-pro": [0.35],
    "ifeval": [0.2, 0.4, 0.3, 0.5],  # 0.35
    "livebench-coding": [0.2, 0.4],  # 0.3
    "livebench-instruction-following": [0.45] * 4,  # 0.45
    "bbq": [0.7],
    "wmdp": [0.4],  # inverted: 0.6
}
SAFETY_DEFAULT = 0.6


def _components(name: str, se: float | None = 0.02) -> tuple[Component, ...]:
    bench = get_benchmark(name)
    columns = bench.livebench.tasks if bench.livebench else bench.artifact
    if name in VALUES:
        values = VALUES[name]
    elif bench.livebench:
        values = [LIVEBENCH_WK] * len(columns)
    else:
        values = [SAFETY_DEFAULT] * len(columns)
    out = []
    for i, (column, value) in enumerate(zip(columns, values, strict=True)):
        stderr = None if name == "ifeval" and i % 2 else se  # IFEval inst-level stderr is N/A
        out.append(Component(column, column, value, stderr, 100, None, column.split("/")[0]))
    return tuple(out)


def _model(skip: tuple[str, ...] = (), se: float | None = 0.02) -> ModelResults:
    results = ModelResults("hand")
    for bench in benchmarks():
        if bench.name not in skip:
            results.benchmarks[bench.name] = BenchmarkResult(bench.name, _components(bench.name, se), "test")
    return results


def test_formula_matches_hand_computation() -> None:
    scored = score_model(_model(), bootstrap=0)
    b = {k: v.score for k, v in scored.benchmarks.items()}
    assert b["bbh"] == pytest.approx(0.5)
    assert b["gpqa"] == pytest.approx(0.4)
    assert b["musr"] == pytest.approx(0.6)
    assert b["ifeval"] == pytest.approx(0.35)
    assert b["livebench-coding"] == pytest.approx(0.3)
    assert b["wmdp"] == pytest.approx(0.6)  # 1 - 0.4
    wk = (5 * 0.3 + 0.5 + 0.4 + 0.35 + 0.6 + 0.1) / 10  # 0.345
    if_ = (0.35 + 0.45) / 2  # 0.4
    safety = (10 * 0.6 + 0.7 + 0.6) / 12  # 0.608333
    f = scored.factors
    assert f["WK"].score == pytest.approx(wk)
    assert f["IF"].score == pytest.approx(if_)
    assert f["Safety"].score == pytest.approx(safety)
    assert f["Overall"].score == pytest.approx((wk + if_ + safety) / 3)
    assert all(f[name].complete for name in FACTOR_NAMES)


def test_analytic_confidence_intervals() -> None:
    scored = score_model(_model(), bootstrap=0)
    # 24 independent BBH subtasks with se 0.02 each: sqrt(24 * 0.02^2) / 24
    assert scored.benchmarks["bbh"].stderr == pytest.approx(math.sqrt(24) * 0.02 / 24)
    # IFEval's four metrics share items: perfectly correlated, the N/A ones take the others' mean -> 0.02
    assert scored.benchmarks["ifeval"].stderr == pytest.approx(0.02)
    assert scored.benchmarks["cdna"].stderr == pytest.approx(0.02)
    safety = scored.factors["Safety"]
    se = math.sqrt(12 * 0.02**2) / 12
    assert safety.stderr == pytest.approx(se)
    assert (safety.ci_low, safety.ci_high) == pytest.approx((safety.score - Z * se, safety.score + Z * se))
    assert safety.ci_method == "analytic from stderr" and safety.bootstrap is None
    ses = [scored.factors[f].stderr for f in ("WK", "IF", "Safety")]
    assert scored.factors["Overall"].stderr == pytest.approx(math.sqrt(sum(s * s for s in ses)) / 3)


def test_missing_stderr_gives_no_analytic_interval() -> None:
    scored = score_model(_model(se=None), bootstrap=0)
    assert scored.factors["WK"].score is not None and scored.factors["WK"].ci_low is None


def test_incomplete_factor_is_not_averaged_over_fewer_benchmarks() -> None:
    scored = score_model(_model(skip=("gpqa",)), bootstrap=0)
    wk = scored.factors["WK"]
    assert wk.score is None and not wk.complete and wk.missing == ("gpqa",)
    assert scored.factors["Overall"].score is None and scored.factors["Overall"].missing == ("WK",)
    assert scored.factors["IF"].complete and scored.factors["IF"].score == pytest.approx(0.4)


def test_allow_partial_averages_and_says_so(tmp_path: Path) -> None:
    scored = score_model(_model(skip=("gpqa",)), bootstrap=0, allow_partial=True)
    wk = scored.factors["WK"]
    assert wk.score == pytest.approx((5 * 0.3 + 0.5 + 0.35 + 0.6 + 0.1) / 9)
    assert not wk.complete and not scored.factors["Overall"].complete
    assert scored.factors["Overall"].score is not None
    write_run_folder(tmp_path / "run", "m", skip=("gpqa",), with_samples=False)
    report = score_paths([tmp_path / "run"], allow_partial=True, bootstrap=0)
    data = report.to_json()
    assert any("--allow-partial" in n for n in data["notes"])
    assert data["models"][0]["factors"]["WK"]["complete"] is False
    assert to_csv(report).startswith("# --allow-partial")


def test_baseline_normalization_hand_computed() -> None:
    scored = score_model(_model(), bootstrap=0, normalize="baseline")
    b = {k: v.score for k, v in scored.benchmarks.items()}
    assert b["gpqa"] == pytest.approx(((0.3 - 0.25) / 0.75 + (0.4 - 0.25) / 0.75 + (0.5 - 0.25) / 0.75) / 3)
    assert b["mmlu-pro"] == pytest.approx((0.35 - 0.1) / 0.9)
    assert b["wmdp"] == pytest.approx(1 - (0.4 - 0.25) / 0.75)  # normalised, then inverted
    assert b["bbq"] == pytest.approx((0.7 - 1 / 3) / (2 / 3))
    assert b["cdna"] == pytest.approx((0.6 - 0.5) / 0.5)
    assert b["math-lvl5"] == pytest.approx(0.1)  # generative: unchanged
    assert b["ifeval"] == pytest.approx(0.35)
    # BBH: per subtask by its number of choices, clipped at 0 (navigate: 2 choices, 0.4 -> 0)
    bbh = get_benchmark("bbh")
    expected = []
    for column, value in zip(bbh.artifact, VALUES["bbh"], strict=True):
        base = 1 / answer_choices()["bbh"][column.split("/")[0]]
        expected.append(max(0.0, (value - base) / (1 - base)))
    assert b["bbh"] == pytest.approx(sum(expected) / 24)
    assert random_baseline("bbh", "leaderboard_bbh_navigate/acc_norm") == 0.5
    # stderr scales with 1 / (1 - b)
    assert scored.benchmarks["cdna"].stderr == pytest.approx(0.02 / 0.5)
    with pytest.raises(SosbenchError, match="unknown --normalize 'minmax'"):
        score_model(_model(), normalize="minmax")


def test_bbh_answer_choices_match_lm_eval_task_yamls() -> None:
    lm_eval = pytest.importorskip("lm_eval")
    folder = Path(lm_eval.__file__).parent / "tasks" / "leaderboard" / "bbh_mc"
    table = answer_choices()["bbh"]
    for task, choices in table.items():
        text = (folder / f"{task.removeprefix('leaderboard_bbh_')}.yaml").read_text()
        line = next(line for line in text.splitlines() if line.startswith("doc_to_choice:"))
        assert len(ast.literal_eval(line.split(":", 1)[1].strip())) == choices, task
    assert sorted(table) == sorted(c.split("/")[0] for c in get_benchmark("bbh").artifact)
    for bench in benchmarks():
        assert bench.name in answer_choices(), bench.name


def _binary_model(n: int, p: float) -> ModelResults:
    results = ModelResults("binary")
    ones = round(n * p)
    arr = np.array([1.0] * ones + [0.0] * (n - ones))
    for bench in benchmarks():
        columns = (
            bench.livebench.tasks
            if bench.livebench
            else (bench.artifact[:1] if bench.score.pool else bench.artifact)
        )
        comps = tuple(Component(c, c, float(arr.mean()), None, n, Items(arr), c) for c in columns)
        results.benchmarks[bench.name] = BenchmarkResult(bench.name, comps, "test")
    return results


def test_bootstrap_agrees_with_analytic_for_independent_items() -> None:
    scored = score_model(_binary_model(400, 0.3), bootstrap=2000, seed=1)
    for name in FACTOR_NAMES:
        f = scored.factors[name]
        assert f.ci_method == "item bootstrap"
        width_boot = f.bootstrap[1] - f.bootstrap[0]
        width_analytic = f.analytic[1] - f.analytic[0]
        assert width_boot == pytest.approx(width_analytic, rel=0.15), name
        assert f.ci_low < f.score < f.ci_high


def test_bootstrap_is_seeded_and_carried_to_factors(tmp_path: Path) -> None:
    write_run_folder(tmp_path / "run", "m")
    a = score_paths([tmp_path / "run"], bootstrap=300, seed=7).models[0]
    b = score_paths([tmp_path / "run"], bootstrap=300, seed=7).models[0]
    c = score_paths([tmp_path / "run"], bootstrap=300, seed=8).models[0]
    assert a.factors["Overall"].bootstrap == b.factors["Overall"].bootstrap
    assert a.factors["Overall"].bootstrap != c.factors["Overall"].bootstrap
    for name in FACTOR_NAMES:
        assert a.factors[name].ci_method == "item bootstrap"
        assert a.factors[name].complete
    assert a.benchmarks["bbh"].ci_method == "item bootstrap"


def test_index_matrix_resampling_of_ratio_and_fractional_items() -> None:
    rng = np.random.default_rng(0)
    num = np.array([1.0, 1.0, 0.0, 2.0])
    den = np.array([1.0, 2.0, 2.0, 3.0])
    ratio = Component("ifeval/inst", "ifeval/inst", 4 / 8, None, 4, Items(num, den), "ifeval")
    prompt = Component(
        "ifeval/prompt", "ifeval/prompt", 0.25, None, 4, Items(np.array([1.0, 0, 0, 0])), "ifeval"
    )
    rounds = component_rounds((ratio, prompt), rng, 500)
    # shared resample: a round whose prompt-level mean is 1 drew only doc 0, whose ratio is 1/1
    assert np.all(rounds[0][rounds[1] == 1.0] == 1.0)
    assert np.all((rounds[0] >= 0) & (rounds[0] <= 1))
    fractional = np.tile([0.0, 0.5, 1.0], 300)
    comp = Component("t", "t", 0.5, None, fractional.size, Items(fractional), "t")
    (means,) = component_rounds((comp,), np.random.default_rng(1), 3000)
    assert means.std() == pytest.approx(fractional.std(ddof=0) / math.sqrt(fractional.size), rel=0.1)


def test_json_shape_of_the_issue(tmp_path: Path) -> None:
    write_run_folder(tmp_path / "run", "m", with_samples=False)
    data = json.loads(json.dumps(score_paths([tmp_path / "run"], bootstrap=0).to_json()))
    model = data["models"][0]
    assert model["model"] == "m"
    assert set(model["factors"]) == {"WK", "IF", "Safety", "Overall"}
    for bench in model["benchmarks"].values():
        assert {"score", "stderr", "n"} <= set(bench)
    for factor in model["factors"].values():
        assert {"score", "ci_low", "ci_high", "complete"} <= set(factor)
    assert model["benchmarks"]["bbq"]["n"] == sum(10 + 2 * i for i in range(11))


def test_score_cli_formats(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from sosbench.cli import app

    write_run_folder(tmp_path / "run", "m", with_samples=False)
    runner = CliRunner()
    out = runner.invoke(app, ["score", str(tmp_path / "run"), "--format", "json", "--bootstrap", "0"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["models"][0]["factors"]["Overall"]["complete"] is True
    out = runner.invoke(
        app, ["score", str(tmp_path / "run"), "--format", "csv", "--export", str(tmp_path / "x")]
    )
    assert out.exit_code == 0 and out.stdout.startswith("model,items_per_task,WK,")
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == [
        "livebench_groups.csv",
        "livebench_tasks.csv",
        "sos_results.csv",
    ]
    out = runner.invoke(app, ["score", str(tmp_path / "run")])
    assert out.exit_code == 0 and "Overall" in out.stdout
    bad = runner.invoke(app, ["score", str(tmp_path / "run"), "--format", "xml"])
    assert bad.exit_code == 1 and bad.stderr == "error: unknown --format 'xml': use table, json, csv\n"


def test_scoring_yaml_is_valid() -> None:
    from importlib.resources import files

    data = yaml.safe_load(files("sosbench").joinpath("data/scoring/scoring.yaml").read_text())
    tasks = {t for b in benchmarks() if b.livebench for t in b.livebench.tasks}
    assert set(data["livebench_task_questions"]) == tasks == set(livebench_release().tasks)
    assert sum(data["livebench_task_questions"].values()) == livebench_release().questions == 910  # 06-24


def test_a_stderr_lm_eval_leaves_na_comes_from_the_items() -> None:
    """IFEval's instruction-level stderr is "N/A" in lm-eval's results: with items it is the ratio
    estimator's, so a benchmark whose prompt level is all wrong no longer shows +-0.0 beside a bootstrap
    CI."""
    prompts = Items(np.zeros(4))  # every prompt wrong: stderr 0 is right for these components
    followed, total = np.array([1.0, 0.0, 2.0, 1.0]), np.array([2.0, 1.0, 3.0, 2.0])
    instructions = Items(followed, total)
    columns = get_benchmark("ifeval").artifact
    comps = tuple(
        Component(c, c, items.value, 0.0 if items is prompts else None, 4, items, "leaderboard_ifeval")
        for c, items in zip(columns, (prompts, instructions, prompts, instructions), strict=True)
    )
    scored = score_model(ModelResults("m", {"ifeval": BenchmarkResult("ifeval", comps, "t")}), bootstrap=500)
    ratio = followed.sum() / total.sum()
    se_inst = math.sqrt(np.sum((followed - ratio * total) ** 2) / (4 * 3)) / total.mean()
    ifeval = scored.benchmarks["ifeval"]
    assert ifeval.stderr == pytest.approx(se_inst / 2)  # same items: the four stderrs average
    assert ifeval.ci_method == "item bootstrap" and ifeval.ci_high > 0


def test_limit_runs_and_partial_factors_are_marked_in_every_format(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from sosbench.cli import app

    write_run_folder(tmp_path / "run", "small", skip=("gpqa",), with_samples=False)
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    (tmp_path / "run" / "manifest.json").write_text(json.dumps({**manifest, "config": {"limit": 30}}))
    report = score_paths([tmp_path / "run"], allow_partial=True, bootstrap=0)
    model = report.to_json()["models"][0]
    assert model["limit"] == 30 and model["items_per_task"] == "30 items per task"
    assert model["factors"]["WK"]["partial"] == "9 of 10 benchmarks"
    assert model["factors"]["WK"]["missing"] == ["gpqa"] and "gpqa" not in model["factors"]["WK"]["members"]
    assert "small: a --limit run (30 items per task): not comparable with full runs" in report.notes
    assert "small: WK is partial, over 9 of 10 benchmarks" in report.notes
    lines = to_csv(report).splitlines()
    row = next(csv.DictReader(line for line in lines if not line.startswith("#")))
    assert row["items_per_task"] == "30 items per task" and row["WK_partial"] == "9 of 10 benchmarks"
    assert row["WK_ci_kind"] == "analytic from stderr" and row["IF_partial"] == ""
    table = CliRunner().invoke(app, ["score", str(tmp_path / "run"), "--allow-partial", "--bootstrap", "0"])
    words = " ".join(table.stdout.split())
    assert "[30/task]" in table.stdout and " *" in table.stdout
    assert "[N/task] = a --limit run of N items per task" in words
    assert "95% CIs: analytic from stderrs" in words
    assert "note: small: WK is partial, over 9 of 10 benchmarks" in table.stderr


def _safety_factor(value_of_plugin: float) -> float | None:
    """Safety factor of a model with every Safety benchmark at 0.5 and the plugin at ``value_of_plugin``."""
    from sosbench.results import BenchmarkResult, Component, ModelResults
    from sosbench.scoring import score_model

    results = ModelResults("m")
    for bench in benchmarks():
        if bench.factor != "Safety" or bench.score is None:
            continue
        value = value_of_plugin if bench.name == "my-safety" else 0.5
        keys = bench.result_keys("paper")
        results.benchmarks[bench.name] = BenchmarkResult(
            bench.name, tuple(Component(k, k, value, 0.01, 100, item_set=k) for k in keys), "test"
        )
    return score_model(results, bootstrap=0).factors["Safety"].score


def test_a_plugin_benchmark_moves_its_factor_only_when_it_opts_in(plugin_suite) -> None:
    plugin_suite("version: 1\nbenchmarks:\n" + PLUGIN_ENTRY)
    left_out = _safety_factor(0.0)
    plugin_suite("version: 1\nbenchmarks:\n" + PLUGIN_ENTRY + "    factor_average: true\n")
    opted_in = _safety_factor(0.0)
    assert left_out is not None and opted_in is not None
    assert opted_in < left_out
