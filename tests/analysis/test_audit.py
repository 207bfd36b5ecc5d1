"""The judge audit and its bias card (``sosbench.analysis``; ``sosbench judge audit``; the report section).

The card's claims are checked on synthetic judges whose truth is known (tests/_synthetic_judges.py): a
planted style preference is recovered, a judge without one is not accused, and style control is credited
with moving a length-following judge toward the planted ground truth.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from _synthetic_judges import JUDGE, V01_BASELINE, default_plan, simulate

from sosbench.analysis import audit_judges, bias_card, correlation, ground_truth, verdict
from sosbench.errors import SosbenchError
from sosbench.judge import (
    StyleUnits,
    optimum_coefficients,
)
from sosbench.judge._estimators import CONTROLS

BASE = "gpt-4-0314"
BOTH = CONTROLS["both"]
REPETITIONS = 100


def _game(label: str | None, **criteria: str | None) -> dict:
    record: dict = {"user_prompt": "...", "judgment": "...", "score": label}
    record.update({f"{k}_score": v for k, v in criteria.items()})
    return record


def _units(plan, estimator: str = "arena-hard-v2.0") -> StyleUnits:  # type: ignore[no-untyped-def]
    """A plan's judgments as estimator input, built in memory (the file path is tested elsewhere)."""
    sim = simulate(plan)
    models = (V01_BASELINE, *sorted(plan.models))
    first = {"A>>B": (0.0, 3), "A>B": (0.0, 1), "A=B": (0.5, 1), "B>A": (1.0, 1), "B>>A": (1.0, 3)}
    second = {k: (1.0 - o, w) for k, (o, w) in first.items()}
    rows = []
    for index, model in enumerate(models[1:], 1):
        for question, pair in enumerate(sim.labels[model]):
            for game, label in enumerate(pair):
                if label is not None:
                    outcome, weight = (first if game == 0 else second)[label]
                    rows += [(index, outcome, question)] * weight
    data = np.array(rows)
    model, outcome, question = data[:, 0].astype(int), data[:, 1], data[:, 2].astype(int)
    style = np.stack(
        [
            [sim.style[models[m]][q], sim.style["__baseline__"][q]]
            for m, q in zip(model, question, strict=True)
        ]
    )
    return StyleUnits(models, model, outcome, style.astype(float), question)


@pytest.mark.parametrize(
    ("estimator", "length_coef", "markdown_coef"),
    [
        ("arena-hard-v2.0", 1.5, 1.0),  # v2.0's features are the planted ones: every coefficient is defined
        pytest.param("arena-hard-v2.0", 0.0, 0.0, marks=pytest.mark.slow),  # no preference: CIs cover 0
        # v0.1-era's length feature is the planted one (up to its +1); its markdown features are counts
        pytest.param("arena-hard-v0.1", 1.5, 0.0, marks=pytest.mark.slow),
        pytest.param("arena-hard-v0.1", 0.0, 0.0, marks=pytest.mark.slow),
    ],
)
def test_coefficient_cis_cover_the_planted_preference(
    estimator: str, length_coef: float, markdown_coef: float
) -> None:
    covered = np.zeros(len(BOTH))
    for seed in range(REPETITIONS):
        plan = default_plan(
            7000 + seed, verdicts="binary", unparsed=0.0, length_coef=length_coef, markdown_coef=markdown_coef
        )
        fit = optimum_coefficients(_units(plan), estimator, BOTH)
        planted = np.array([length_coef] + [markdown_coef / 3] * 3) * fit.sd  # per sd of each feature
        lower, upper = fit.interval(95.0)  # the card's CI: jackknife over questions, t(G - 1)
        covered += (lower <= planted) & (planted <= upper)
    # The issue asks for at least 95 of 100 per coefficient. A correct 95% interval gives each count as
    # Binomial(100, 0.95), which reaches 95 only about 62% of the time per coefficient, so no correct
    # interval meets that bar on all 16 counts (0.62^16 < 0.1%) except by luck of the seeds; an interval
    # passing it reliably really covers about 98.5%, a wider interval labelled 95%. Checked instead what a
    # correct interval passes and a miscalibrated one does not: no count below 90 (1% per coefficient for
    # a correct interval, 42% for one covering 90%) and at least 375 of 400 per setting (about 90% of seed
    # sets for a correct interval, 32% for one covering 93%, 0.5% for one covering 90%).
    # Measured on these seeds (docs/judge.md): 92-98 per coefficient, 1520 of 1600 (95.0%) over the four
    # settings; the plain sandwich, CR2 and exact leave-one-question-out refits give the same counts
    # within 4 of 1600, and none reaches 95 on every coefficient.
    assert (covered >= 90).all() and covered.sum() >= 375, dict(zip(BOTH, covered.tolist(), strict=True))


def _length_following_plan(seed: int, length_coef: float):  # type: ignore[no-untyped-def]
    """Ten models whose true strength falls as their answers get longer; the judge may pay for length."""
    names = [f"model-{k}" for k in range(10)]
    return default_plan(
        seed,
        strength={m: 0.9 - 0.2 * k for k, m in enumerate(names)},
        length={m: 0.5 + 0.25 * k for k, m in enumerate(names)},
        markdown={m: 1.0 for m in names},
        length_coef=length_coef,
        markdown_coef=0.0,
        questions=200,
    )


@pytest.mark.parametrize("estimator", ["arena-hard-v0.1", "arena-hard-v2.0"])
def test_style_control_is_credited_with_moving_a_length_judge_toward_ground_truth(estimator: str) -> None:
    plan = _length_following_plan(11, length_coef=6.0)
    truth = {m: {"WK": 50 + 20 * s, "IF": 40 + 25 * s} for m, s in plan.strength.items()}
    card = bias_card(_units(plan), estimator, BOTH, judge="j", rounds=20, seed=42, factors=truth)
    overall = card["ground_truth"]["Overall"]
    assert overall["raw"]["rho"] < 0 < overall["controlled"]["rho"]  # raw follows length, not substance
    assert card["verdict"] == "toward" and card["verdict_factor"] == "Overall"
    assert "moved the judge toward ground truth" in card["finding"]
    length = card["coefficients"]["length"]
    assert length["points_lower"] > 10  # a steep planted price of length, recovered in reader terms
    shifts = [card["models"][m]["shift"] for m in sorted(plan.models)]
    assert shifts[0] > 0 > shifts[-1]  # the short, strong model gains; the long, weak one loses


def test_a_judge_without_style_preference_is_not_moved() -> None:
    plan = _length_following_plan(12, length_coef=0.0)
    truth = {m: {"WK": 50 + 20 * s} for m, s in plan.strength.items()}
    card = bias_card(_units(plan), "arena-hard-v2.0", BOTH, judge="j", rounds=20, seed=42, factors=truth)
    assert card["verdict"] == "no detectable change" and card["verdict_factor"] == "WK"
    c = card["coefficients"]["length"]
    assert c["points_lower"] < 0 < c["points_upper"]
    assert "no detectably closer" in card["finding"]


def test_verdict_reads_the_paired_difference() -> None:
    def truth(low: float, high: float) -> dict:
        return {"Overall": {"difference": {"rho": (low + high) / 2, "lower": low, "upper": high}}}

    assert verdict(truth(0.1, 0.9)) == ("toward", "Overall")
    assert verdict(truth(-0.9, -0.1)) == ("away", "Overall")
    assert verdict(truth(-0.2, 0.5)) == ("no detectable change", "Overall")
    assert verdict({}) == (None, None)
    few = ground_truth({"a": 1.0, "b": 2.0}, {"a": 1.0, "b": 2.0}, {"a": {"WK": 1.0}, "b": {"WK": 2.0}})
    assert few["WK"]["raw"] is None and verdict(few) == (None, "WK")  # two models: no correlation


def test_interventions_appear_raw_and_style_controlled() -> None:
    plan = default_plan(3)
    units = _units(plan)
    models = (*units.models, "model-a@verbose")
    extra = units.model == models.index("model-a")
    # the rewritten set: model-a's battles again, lost twice as often, with doubled answers
    rewritten = StyleUnits(
        models,
        np.concatenate([units.model, np.full(extra.sum(), len(models) - 1)]),
        np.concatenate([units.outcome, units.outcome[extra] * 0.5]),
        np.concatenate([units.style, units.style[extra] * np.array([[2.0, 1, 1, 1], [1, 1, 1, 1]])]),
        np.concatenate([units.cluster, units.cluster[extra]]),
    )
    card = bias_card(rewritten, "arena-hard-v0.1", BOTH, judge="j", rounds=0, seed=42)
    (loss,) = card["interventions"]
    assert loss["model"] == "model-a" and loss["kind"] == "verbose"
    assert loss["raw_loss_percent"] > 10 and loss["controlled_loss_percent"] > loss["raw_loss_percent"]
    assert "model-a@verbose" not in card["models"]  # an intervention, not a model


def test_correlation_skips_missing_and_nan_values() -> None:
    result = correlation([1.0, None, math.nan, 2.0, 3.0, 4.0], [2.0, 5.0, 1.0, 4.0, 7.0, 8.0])
    assert result["n"] == 4 and result["pearson"] == pytest.approx(0.98450, abs=1e-4)
    assert correlation([1.0, 2.0], [1.0, 2.0])["pearson"] is None  # fewer than 3 models
    assert correlation([1.0, 1.0, 1.0], [1.0, 2.0, 3.0])["spearman"] is None  # constant column


def test_audit_skips_models_without_a_criterion_and_factors_without_a_score(tmp_path: Path) -> None:
    folder = tmp_path / "j"
    folder.mkdir()
    rows = []
    for k, model in enumerate(["a", "b", "c", "d", "c@concise"]):  # a rewritten answer set is no model
        for q in range(8):
            win = q < 2 * k + 1
            label = "B>A" if win else "A>B"
            style = None if model == "d" else label  # d: no style verdicts at all
            games = [
                _game(label, style=style),
                _game("A>B" if win else "B>A", style=None if style is None else ("A>B" if win else "B>A")),
            ]
            rows.append({"question_id": f"q{q}", "model": model, "judge": "j", "games": games})
    (folder / "all.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))

    from _synthetic_runs import write_run_folder

    from sosbench.scoring import score_paths

    runs = tmp_path / "runs"
    for k, model in enumerate(["a", "b", "c", "d"]):  # real run folders, scored by the real scoring layer
        write_run_folder(runs / model, model, with_samples=False)
        for results_file in runs.glob(f"{model}/*/results.json"):  # each model scores differently
            data = json.loads(results_file.read_text())
            for values in data["results"].values():
                for key in [name for name in values if name.endswith(",none") and "_stderr" not in name]:
                    values[key] = (
                        values[key] * (0.4 + 0.15 * k) if k % 2 else 1 - values[key] * (0.3 + 0.1 * k)
                    )
            results_file.write_text(json.dumps(data))
    report = score_paths([runs], allow_partial=True, bootstrap=0)
    factors = {e.model: {n: f.score for n, f in e.factors.items() if f.complete} for e in report.models}
    assert set(factors) == {"a", "b", "c", "d"} and factors["a"]

    result = audit_judges([folder], BASE, [runs])
    entry = result["judges"][0]
    assert entry["n_models"] == 4
    assert entry["criteria"]["style"]["n"] == 3 and entry["criteria"]["style"]["pearson"] > 0.99
    assert "style" not in entry["scores"]["d"] and "c@concise" not in entry["scores"]
    assert set(entry["factors"]) == set(factors["a"])
    overall = [entry["scores"][m]["overall"] for m in "abcd"]
    for name, corr in entry["factors"].items():
        assert corr["n"] == 4
        assert corr == correlation([factors[m][name] for m in "abcd"], overall), name
    assert any(corr["pearson"] is not None for corr in entry["factors"].values())
    json.dumps(result, allow_nan=False)  # valid JSON for the report


def test_audit_command_writes_cards_and_the_report_shows_them(tmp_path: Path) -> None:
    from _cli import sosbench_in_process
    from _synthetic_judges import write_v20
    from _synthetic_runs import write_run_folder

    bench = tmp_path / "bench"
    write_v20(default_plan(21), bench)
    out = tmp_path / "audit.json"
    args = ["judge", "audit", "-J", str(bench / "model_judgment" / JUDGE), "--rounds", "10", "-o", str(out)]
    done = sosbench_in_process(*args, "--estimator", "arena-hard-v2.0")
    assert done.returncode == 0, done.stderr
    (entry,) = json.loads(out.read_text())["judges"]
    (card,) = entry["cards"]
    assert card["category"] == "hard_prompt" and card["baseline"] == "o3-mini-2025-01-31"
    assert set(card["models"]) == {f"model-{c}" for c in "abcdefg"}
    assert card["coefficients"]["length"]["points_lower"] > 0  # the planted price of length
    assert "per +50% length" in done.stdout and "judge-bias card" in done.stdout
    write_run_folder(tmp_path / "run", "model-a")
    html = tmp_path / "report.html"
    shown = sosbench_in_process("report", str(tmp_path / "run"), "--audit", str(out), "--html", str(html))
    assert shown.returncode == 0, shown.stderr
    page = html.read_text()
    assert "<h2>Judge-bias card</h2>" in page and "pays" in page and "per +50% length" in page
    none = sosbench_in_process(*args, "--style-control", "none")
    assert none.returncode == 0 and "cards" not in json.loads(out.read_text())["judges"][0]


@pytest.mark.parametrize(
    ("length_coef", "finding"),
    [
        (6.0, "style control moved the judge toward ground truth"),
        pytest.param(  # the fast tier checks this verdict without the CLI (above)
            0.0,
            "style control brought the judge no detectably closer to ground truth",
            marks=pytest.mark.slow,
        ),
    ],
)
def test_the_verdict_end_to_end_through_the_cli(tmp_path: Path, length_coef: float, finding: str) -> None:
    """Run folders whose SOS-Bench factors follow a planted truth; a v2.0 judge (files with answer metadata)
    whose raw ranking follows length and not that truth (or, without a price of length, follows the truth);
    `judge audit --runs` and `report --audit` state the verdict."""
    from _cli import sosbench_in_process
    from _synthetic_judges import write_v20
    from _synthetic_runs import write_ranked_run

    plan = _length_following_plan(31, length_coef=length_coef)
    bench, runs = tmp_path / "bench", tmp_path / "runs"
    write_v20(plan, bench, both_metadata=True)
    for model, strength in plan.strength.items():  # the truth: every factor rises with true strength
        write_ranked_run(runs / model, model, 0.5 + 0.25 * strength)
    out = tmp_path / "audit.json"
    judge = str(bench / "model_judgment" / JUDGE)
    done = sosbench_in_process(
        "judge", "audit", "-J", judge, "--runs", str(runs), "--rounds", "10", "-o", str(out)
    )
    assert done.returncode == 0, done.stderr
    (entry,) = json.loads(out.read_text())["judges"]
    assert {card["estimator"] for card in entry["cards"]} == {"arena-hard-v0.1", "arena-hard-v2.0"}
    for card in entry["cards"]:
        assert card["verdict_factor"] == "Overall" and card["ground_truth"]["Overall"]["n"] == 10
        assert finding in card["finding"], card["finding"]
        assert finding in " ".join(done.stdout.split())  # printed, however the terminal wraps it
        raw = card["ground_truth"]["Overall"]["raw"]["rho"]
        assert raw < 0 if length_coef else raw > 0.9  # the raw ranking follows length, or the truth
    html = tmp_path / "report.html"
    shown = sosbench_in_process("report", str(runs), "--audit", str(out), "--html", str(html))
    assert shown.returncode == 0, shown.stderr
    page = html.read_text()
    assert "<h2>Judge-bias card</h2>" in page and page.count(finding) >= 2  # one finding per estimator


def _two_category_bench(root: Path) -> Path:
    """A v2.0 bench folder with both categories, as v2.0 ships them: hard_prompt judged against o3-mini,
    creative_writing against gemini-2.0-flash-001 (with its answers, which a user supplies); returns it."""
    from _synthetic_judges import write_v20

    write_v20(default_plan(41), root / "hard")
    write_v20(default_plan(42), root / "creative", "gemini-2.0-flash-001", "creative_writing")
    bench = root / "bench"
    for part in ("hard", "creative"):
        for path in sorted((root / part).rglob("*.jsonl")):
            target = bench / path.relative_to(root / part)
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("a") as handle:
                handle.write(path.read_text())
    return bench


def test_audit_of_a_v2_folder_covers_every_category_against_its_own_baseline(tmp_path: Path) -> None:
    from _cli import sosbench_in_process

    folder = _two_category_bench(tmp_path) / "model_judgment" / JUDGE
    result = audit_judges([folder], estimators=("arena-hard-v2.0",), rounds=5)
    entries = {e["category"]: e for e in result["judges"]}
    assert list(entries) == ["hard_prompt", "creative_writing"]
    for category, baseline in (
        ("hard_prompt", "o3-mini-2025-01-31"),
        ("creative_writing", "gemini-2.0-flash-001"),
    ):
        entry = entries[category]
        assert (
            entry["baseline"] == baseline
            and entry["n_models"] == 7
            and entry["benchmark"] == "arena-hard-v2.0"
        )
        (card,) = entry["cards"]
        assert card["category"] == category and card["baseline"] == baseline
        assert card["coefficients"]["length"]["points_lower"] > 0  # both plans plant a price of length
    with pytest.raises(SosbenchError, match=r"--baseline does not apply to arena-hard-v2\.0"):
        audit_judges([folder], "gpt-4-0314", estimators=())
    shown = sosbench_in_process("judge", "audit", "-J", str(folder), "--style-control", "none")
    assert shown.returncode == 0, shown.stderr
    assert (
        "synthetic-judge (hard_prompt)" in shown.stdout
        and "synthetic-judge (creative_writing)" in shown.stdout
    )
    refused = sosbench_in_process("judge", "audit", "-J", str(folder), "--baseline", "gpt-4-0314")
    assert refused.returncode == 1 and refused.stderr.strip().startswith("error: --baseline does not apply")


def test_compare_reads_a_v2_folder_against_its_category_baseline(tmp_path: Path) -> None:
    """`compare --judgments` without --baseline: v2.0 judgments are read against their category's own
    baseline (hard_prompt first), not v0.1's gpt-4-0314; --baseline picks the category it names."""
    from _synthetic_runs import write_run_folder

    from sosbench.analysis import compare_paths
    from sosbench.judge import build_battles, fit_bradley_terry, read_judgments

    folder = _two_category_bench(tmp_path) / "model_judgment" / JUDGE
    for model in ("model-a", "model-b"):
        write_run_folder(tmp_path / "runs" / model, model, with_samples=False)
    runs = (tmp_path / "runs" / "model-a", [tmp_path / "runs" / "model-b"])
    games = read_judgments(folder)
    for baseline, category in ((None, "hard_prompt"), ("gemini-2.0-flash-001", "creative_writing")):
        (comparison,) = compare_paths(*runs, judgments=folder, baseline=baseline, rounds=100, seed=0)
        (row,) = [r for r in comparison.rows if r.kind == "judge"]
        assert row.name == f"judge ({JUDGE}, {category})"
        own = "o3-mini-2025-01-31" if category == "hard_prompt" else "gemini-2.0-flash-001"
        part = [g for g in games if g.category == category]
        battles = build_battles(part, "overall", own, per_question=True)
        rate = fit_bradley_terry(
            battles.models, battles.model, battles.opponent, battles.outcome, rounds=0
        ).win_rate()
        expected = [rate[battles.models.index(m)] / 100 for m in ("model-a", "model-b")]
        assert [row.base, row.candidate] == pytest.approx(expected)
    with pytest.raises(SosbenchError, match=r"judged against o3-mini-2025-01-31 \(hard_prompt\)"):
        compare_paths(*runs, judgments=folder, baseline="gpt-4-0314", rounds=100, seed=0)
