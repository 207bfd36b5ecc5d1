"""The paper recomputation from packaged artifacts, checked against an independent pandas computation."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

import sosbench
from sosbench.analysis import (
    artifacts_dir,
    correlate,
    livebench_rollup,
    load_mapping,
)
from sosbench.errors import SosbenchError

CSVS = ("eleuther_wandb.csv", "arena_hard_auto.csv", "livebench_groups.csv", "livebench_tasks.csv")
AMBIGUOUS = (  # protocol 5.2 rows marked "?" or needing an alias
    "Llama-3-8B-flan",
    "Llama-3-8B-NuminaCoT",
    "Llama-3-8B-Tulu-330K",
    "Llama-3-8B-tulu-human-v2",
    "Mistral-7B-Lima",
    "Mistral-7B-tulu-v2-sft-2.0",
    "Mistral-7B-wizardlm-v1.0",
)


def test_artifacts_are_byte_exact_package_data(shared_data: Path) -> None:
    folder = artifacts_dir()
    assert Path(sosbench.__file__).parent in folder.parents  # package data, not ../shared
    for name in CSVS:
        assert (folder / name).read_bytes() == (shared_data / "artifacts" / name).read_bytes(), name
    readme = (folder / "README.md").read_text()
    assert "Apache License 2.0" in readme
    for name in CSVS:
        digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()
        assert f"{digest}  {name}" in readme


def test_mapping_names_exist_and_ambiguous_rows_are_resolved() -> None:
    folder = artifacts_dir()
    eleuther = set(pd.read_csv(folder / "eleuther_wandb.csv")["Name"])
    arena = set(pd.read_csv(folder / "arena_hard_auto.csv")["model"])
    groups = set(pd.read_csv(folder / "livebench_groups.csv")["model"])
    tasks = set(pd.read_csv(folder / "livebench_tasks.csv")["model"])
    mapping = load_mapping()
    assert {m.eleuther for m in mapping if m.eleuther} == eleuther
    assert {m.arena_hard for m in mapping if m.arena_hard} == arena
    for m in mapping:
        assert m.livebench_groups is None or m.livebench_groups in groups
        assert m.livebench_tasks is None or m.livebench_tasks in tasks
        assert (m.livebench_groups is None) == (m.livebench_tasks is None)
        if m.stage == "po" and m.sft_parent:
            assert m.sft_parent in {x.model for x in mapping}
    by_name = {m.model: m for m in mapping}
    for name in AMBIGUOUS:
        assert by_name[name].resolution, name
    assert by_name["Mistral-7B-Lima"].livebench_tasks == "mistral-lima"


def _independent_scores(folder: Path) -> pd.DataFrame:
    """Factor scores written from the protocol's recipe (section 5.3) with pandas and regexes, not the
    registry."""
    df = pd.read_csv(folder / "eleuther_wandb.csv").set_index("Name")

    def mean_of(pattern: str) -> pd.Series:
        cols = [c for c in df.columns if re.fullmatch(pattern, c)]
        return df[cols].astype(float).mean(axis=1)

    wk_eleuther = pd.concat(
        [
            mean_of(r"leaderboard_bbh_\w+/acc_norm"),
            mean_of(r"leaderboard_gpqa_\w+/acc_norm"),
            mean_of(r"leaderboard_musr_\w+/acc_norm"),
            mean_of(r"leaderboard_math_\w+_hard/exact_match"),
            mean_of(r"leaderboard_mmlu_pro/acc"),
        ],
        axis=1,
    )
    ifeval = mean_of(r"leaderboard_ifeval/(prompt|inst)_level_(strict|loose)_acc")
    safety_cols = [
        "BeaverTailsEval/acc",
        "CDNA/acc",
        "DTToxicity/acc",
        "JailbreakHub/acc",
        "SaladBench/acc",
        "SGXSTest/acc",
        "StrongREJECT/acc",
        "toxigen/acc",
        "WildGuardTest/acc",
        "xstest/acc",
        "bbq/acc",
    ]
    safety = pd.concat([df[safety_cols], 1 - df["wmdp/acc"]], axis=1).mean(axis=1)
    mapping = yaml.safe_load((folder / "model_mapping.yaml").read_text())["models"]
    lb = pd.read_csv(folder / "livebench_groups.csv").set_index("model") / 100
    rows = {}
    for m in mapping:
        if not m.get("eleuther") or not m.get("livebench_groups"):
            continue
        name, g = m["eleuther"], lb.loc[m["livebench_groups"]]
        wk = (
            wk_eleuther.loc[name].sum()
            + g[["coding", "data_analysis", "language", "math", "reasoning"]].sum()
        ) / 10
        if_ = (ifeval.loc[name] + g["instruction_following"]) / 2
        rows[m["model"]] = {
            "WK": wk,
            "IF": if_,
            "Safety": safety.loc[name],
            "Overall": (wk + if_ + safety.loc[name]) / 3,
        }
    return pd.DataFrame(rows).T


def test_paper_factor_scores_match_an_independent_computation(analysis) -> None:
    expected = _independent_scores(artifacts_dir())
    got = {m.model: m for m in analysis.scores.models}
    assert len(expected) == 32
    for model, row in expected.iterrows():
        for factor in ("WK", "IF", "Safety", "Overall"):
            f = got[model].factors[factor]
            assert f.complete
            assert f.score == pytest.approx(row[factor], abs=1e-12), (model, factor)
    # models without LiveBench rows have incomplete WK/IF and no Overall, but a Safety score
    assert got["Llama-3-8B-flan"].factors["WK"].score is None
    assert got["Llama-3-8B-flan"].factors["Safety"].complete


def test_paper_safety_ci_from_stderrs(analysis) -> None:
    df = pd.read_csv(artifacts_dir() / "eleuther_wandb.csv").set_index("Name")
    cols = [
        c
        for c in df.columns
        if c.endswith("/acc_stderr") and "/" in c and not re.match(r"(bbq_|wmdp_|leaderboard)", c)
    ]
    assert len(cols) == 12
    se = np.sqrt((df.loc["Mistral-7B-bagel", cols].astype(float) ** 2).sum()) / 12
    f = {m.model: m for m in analysis.scores.models}["Mistral-7B-bagel"].factors["Safety"]
    assert (f.ci_low, f.ci_high) == pytest.approx(
        (f.score - 1.959964 * se, f.score + 1.959964 * se), abs=1e-6
    )


def test_correlations_match_pandas(analysis) -> None:
    expected = _independent_scores(artifacts_dir())
    arena = pd.read_csv(artifacts_dir() / "arena_hard_auto.csv").set_index("model")["score"]
    mapping = {m.model: m.arena_hard for m in load_mapping() if m.arena_hard}
    by_y = {c.y: c for c in analysis.correlations}
    assert set(by_y) == {"WK", "IF", "Safety", "Overall", "livebench_average"}
    for factor in ("WK", "IF", "Overall"):
        models = [m for m in expected.index if m in mapping]
        x = pd.Series([arena[mapping[m]] for m in models], index=models)
        y = expected.loc[models, factor].astype(float)
        c = by_y[factor]
        assert c.n == len(models) == 29
        for method in ("pearson", "spearman", "kendall"):
            assert getattr(c, method) == pytest.approx(x.corr(y, method=method), abs=1e-12), (factor, method)
        assert c.ci_low <= c.pearson <= c.ci_high
    assert by_y["Safety"].n == 32  # Safety needs no LiveBench row


def test_deltas_regressions_and_rollup(analysis) -> None:
    deltas = {d.po: d for d in analysis.deltas}
    assert set(deltas) == {f"Llama-3-8B-Ultrachat-{m}" for m in ("DPO", "IPO", "KTO", "ORPO", "RDPO")} | {
        "Llama-3-8B-Magpie-Align-v0.2"
    }
    expected = _independent_scores(artifacts_dir())
    dpo = deltas["Llama-3-8B-Ultrachat-DPO"]
    assert dpo.sft == "Llama-3-8B-Ultrachat (princeton)" and dpo.method == "DPO"
    assert dpo.factors["WK"] == pytest.approx(expected.loc[dpo.po, "WK"] - expected.loc[dpo.sft, "WK"])
    assert dpo.arena_hard == pytest.approx(13.81 - 9.18)
    magpie = deltas["Llama-3-8B-Magpie-Align-v0.2"]
    assert magpie.arena_hard == pytest.approx(40.81 - 18.01)
    wk = next(r for r in analysis.regressions if r.factor == "WK")
    sizes = {m.model: m.sft_examples for m in load_mapping() if m.sft_examples}
    x = np.log10([sizes[m] for m in sizes])
    y = np.array([expected.loc[m, "WK"] for m in sizes])
    slope, intercept = np.polyfit(x, y, 1)
    assert wk.n == len(sizes) == 6
    assert (wk.slope, wk.intercept) == pytest.approx((slope, intercept))
    assert wk.r2 == pytest.approx(np.corrcoef(x, y)[0, 1] ** 2)
    r = analysis.rollup
    assert r.ok and r.n_models == 146 and set(r.skipped) == {"starcoder2-15b", "llama-2-70b-instruct"}
    assert r.aliases == {"mistral-7b-lima": "mistral-lima"}


def test_rollup_detects_a_changed_task_score(tmp_path: Path) -> None:
    for name in CSVS:
        shutil.copy(artifacts_dir() / name, tmp_path / name)
    tasks = pd.read_csv(tmp_path / "livebench_tasks.csv")
    tasks.loc[tasks["model"] == "meta-llama-3-8b", "typos"] += 3
    tasks.to_csv(tmp_path / "livebench_tasks.csv", index=False)
    r = livebench_rollup(tmp_path, load_mapping())
    assert not r.ok and r.worst[:2] == ("meta-llama-3-8b", "language")
    assert r.max_category_diff == pytest.approx(1.0, abs=0.06)


def test_correlate_hand_computed_and_seeded() -> None:
    x, y = [1, 2, 3, 4, 5], [2, 4, 5, 4, 5]
    c = correlate(x, y, rounds=400, seed=3)
    assert c.pearson == pytest.approx(
        6 / np.sqrt(10 * 6)
    )  # by hand: sum dx*dy = 6, sum dx^2 = 10, sum dy^2 = 6
    assert c.pearson == pytest.approx(stats.pearsonr(x, y).statistic)
    assert c.spearman == pytest.approx(stats.spearmanr(x, y).statistic)
    assert c.kendall == pytest.approx(stats.kendalltau(x, y).statistic)
    assert c == correlate(x, y, rounds=400, seed=3)
    assert c.n == 5 and -1 <= c.ci_low <= c.ci_high <= 1
    with pytest.raises(SosbenchError, match="only 2 models have both scores"):
        correlate([1, 2], [3, 4], x_name="a", y_name="b")


def test_paper_cli_json() -> None:
    from typer.testing import CliRunner

    from sosbench.cli import app

    out = CliRunner().invoke(app, ["paper", "--format", "json", "--bootstrap", "200"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert len(data["models"]) == len(load_mapping())
    first = data["correlations"][0]
    assert {"x", "y", "pearson", "spearman", "kendall", "ci_low", "ci_high", "n"} <= set(first)
    assert first["x"] == "arena_hard"
    assert data["deltas"] and data["livebench_rollup"]["ok"] is True
    magpie = next(m for m in data["models"] if m["model"] == "Llama-3-8B-Magpie-Align-v0.2")
    assert magpie["arena_hard"]["score"] == 40.81
    table = CliRunner().invoke(app, ["paper", "--bootstrap", "100"])
    assert table.exit_code == 0 and "Arena-Hard" in table.stdout


def test_vectorised_kendall_equals_scipy_with_ties() -> None:
    from sosbench.analysis import rowwise_kendall

    rng = np.random.default_rng(5)
    a = rng.integers(0, 6, size=(50, 12)).astype(float)  # many ties, as in bootstrap resamples
    b = rng.integers(0, 4, size=(50, 12)).astype(float)
    got = rowwise_kendall(a, b, chunk_elements=100)
    expected = [stats.kendalltau(a[k], b[k]).statistic for k in range(50)]
    assert got == pytest.approx(expected, abs=1e-12, nan_ok=True)
