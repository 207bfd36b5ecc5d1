"""The official estimators against the official code's own output.

tests/data/style_reference/*.json hold what Arena-Hard-Auto's unmodified ``show_result.py`` computed
(3071ef9 for arena-hard-v0.1, 196f6b8 for arena-hard-v2.0) on synthetic judgments with a planted style
preference, with its RNG seeded from outside; ``make_reference.py`` beside them made them. Here the same
folders are rebuilt from ``tests/_synthetic_judges.py``, read through sosbench's readers and scored by
``apply_estimator``. Tolerances are the issue's: the v0.1-era score within 0.2 points (scikit-learn stops
by its default tolerance, sosbench solves to the optimum); v2.0's 50 float32 L-BFGS steps within 0.4
points (the official optimiser itself moves by 0.1-0.2 points with float64 arithmetic or one feature's
last bit); bootstrap rounds resample the same battles as the official numpy draws, so every round agrees
within the same tolerance.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from _paths import TEST_DATA
from _synthetic_judges import JUDGE, V01_BASELINE, V20_BASELINE, default_plan, write_v01, write_v20

from sosbench.errors import SosbenchError
from sosbench.judge import (
    OVERALL_CRITERION,
    BenchDir,
    StyleUnits,
    apply_estimator,
    build_battles,
    read_judgments,
    style_units,
)
from sosbench.judge._estimators import CONTROLS, v20_features
from sosbench.judge._lbfgs import lbfgs_fixed_steps

REFERENCE = TEST_DATA / "style_reference"
CASES = sorted(REFERENCE.glob("*.json"))
ESTIMATOR = {"v01": "arena-hard-v0.1", "v20": "arena-hard-v2.0"}


def _folder_sha256(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.jsonl")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _rebuild(path: Path, where: Path) -> tuple[dict, Path]:
    """A stored case and its bench folder, rebuilt from the synthetic judge (checked byte for byte)."""
    record = json.loads(path.read_text())
    root = where / "data" / "bench"
    plan = default_plan(record["plan"]["seed"], verdicts=record["plan"]["verdicts"])
    (write_v01 if record["layout"] == "v01" else write_v20)(plan, root)
    assert _folder_sha256(root) == record["inputs_sha256"], "synthetic judge changed: rerun make_reference.py"
    return record, root


@pytest.fixture(scope="module", params=CASES, ids=[c.stem for c in CASES])
def case(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    return _rebuild(request.param, tmp_path_factory.mktemp(request.param.stem))


@pytest.fixture(scope="module")
def defects(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    """The v2.0 case whose official length-only and markdown-only runs are stored."""
    return _rebuild(REFERENCE / "v20_bench201.json", tmp_path_factory.mktemp("defects"))


def _units(record: dict, root: Path, styled: bool) -> StyleUnits:
    """The folder read as `judge score` reads it: judgments, battles in the estimator's order, answers."""
    v20 = record["layout"] == "v20"
    battles = build_battles(
        read_judgments(root / "model_judgment" / JUDGE),
        OVERALL_CRITERION,
        V20_BASELINE if v20 else V01_BASELINE,
        per_question=v20,
    )
    bench = BenchDir(root)
    answers = {m: bench.answers(m) for m in battles.models} if styled else None
    return style_units(battles, ESTIMATOR[record["layout"]], answers)


def _runs(record: dict) -> list[tuple[str, int, dict]]:
    return [(key.split("/")[0], int(key.split("seed")[1]), run) for key, run in record["runs"].items()]


def test_the_reference_says_which_official_code_made_it() -> None:
    assert CASES, "tests/data/style_reference is empty"
    for path in CASES:
        record = json.loads(path.read_text())
        assert record["official_commit"] in (
            "3071ef95d913bb5cd632641db336a3b6c7fe4bdd",
            "196f6b826783b3da7310e361a805fa36f0be83f3",
        )
        assert record["made_by"] == "tests/data/style_reference/make_reference.py"


def test_scores_match_the_official_code(case: tuple[dict, Path]) -> None:
    record, root = case
    worst = {"score": 0.0, "band": 0.0, "round": 0.0}
    for style, seed, official in _runs(record):
        if "error" in official or (record["layout"] == "v20" and style in ("length", "markdown")):
            continue  # v2.0's official length-only and markdown-only are broken: tested below
        control = CONTROLS.get(style, ())
        result = apply_estimator(
            _units(record, root, bool(control)), ESTIMATOR[record["layout"]], control, 100, seed
        )
        exact = record["layout"] == "v20" and not control  # v2.0 without style control: plain means
        tolerance = 1e-6 if exact else (0.2 if record["layout"] == "v01" else 0.4)
        for i, model in enumerate(result.models):
            if model not in official["models"]:  # v2.0 lists its baseline apart, at 50 by definition
                assert i == 0 and result.score[0] == pytest.approx(50.0)
                continue
            theirs = official["models"][model]
            point = official["full_fit"][model] if "full_fit" in official else theirs["score"]
            worst["score"] = max(worst["score"], abs(result.score[i] - point))
            rounding = 0.0051 if record["layout"] == "v01" else 0.0  # 3071ef9 rounds its band to 2 decimals
            for side, value in (("lower", result.lower[i]), ("upper", result.upper[i])):
                worst["band"] = max(worst["band"], abs(value - theirs[side]) - rounding)
            if "rounds" in official:  # the same battles resampled: every round agrees
                gap = np.abs(result.boot_score[:, i] - np.array(official["rounds"][model])).max()
                worst["round"] = max(worst["round"], float(gap))
        if control:
            assert np.allclose(result.coef, official["style_coef"], atol=0.02), (style, seed)
        if "full_fit_50_step" in official:  # --rounds 0: the official 50 steps on all battles
            full = apply_estimator(_units(record, root, True), ESTIMATOR["v20"], control, 0, seed)
            gaps = [abs(full.score[i] - official["full_fit_50_step"][m]) for i, m in enumerate(full.models)]
            assert max(gaps) < 0.4, (style, seed, max(gaps))
            assert full.converged is not None and np.abs(full.converged - full.score).max() > 0.05
        assert all(v < tolerance for v in worst.values()), (style, seed, worst)


def test_v20_length_alone_crashes_officially_and_works_here(defects: tuple[dict, Path]) -> None:
    record, root = defects
    assert record["runs"]["length/seed42"]["error"].startswith("IndexError")
    units = _units(record, root, True)
    both = apply_estimator(units, ESTIMATOR["v20"], CONTROLS["both"], 0, 42)
    alone = apply_estimator(units, ESTIMATOR["v20"], ("length",), 0, 42)
    assert alone.coef.shape == (1,) and alone.control == ("length",)
    assert np.sign(alone.coef[0]) == np.sign(both.coef[0])  # the planted length preference, on its own


def test_v20_markdown_alone_official_defect_reproduced_and_intent_here(defects: tuple[dict, Path]) -> None:
    """196f6b8's ``-f markdown`` drops the first model's column instead of the length feature.

    Fitting that same wrong design with the official optimiser reproduces its output, which shows the
    defect is understood; ``--style-control markdown`` here fits the three markdown features.
    """
    record, root = defects
    official = record["runs"]["markdown/seed42"]
    units = _units(record, root, True)
    names = sorted(units.models)
    column = [names.index(m) for m in units.models]
    n = len(units.model)
    design = np.zeros((n, len(names)), dtype=np.float32)
    design[np.arange(n), np.asarray(column)[units.model]] = 1.0
    design[:, column[0]] = -1.0
    wrong = np.hstack([design, v20_features(units.style, CONTROLS["both"])])[:, 1:]
    weights = np.zeros((100, n))
    picks = np.random.RandomState(42).randint(0, n, size=(100, n))
    for r, idx in enumerate(picks):
        weights[r] = np.bincount(idx, minlength=n)
    fits = lbfgs_fixed_steps(wrong, units.outcome.astype(np.float32), weights)
    coefs = fits[:, :-3]  # what 196f6b8 takes for the models: the shifted columns, length among them
    shown = names[: coefs.shape[1]]  # and the names it pairs them with
    base = shown.index(V20_BASELINE)
    for i, model in enumerate(shown):
        rate = 100.0 / (1.0 + np.exp(-(coefs[:, i] - coefs[:, base])))
        # looser than the working estimator's 0.4: this design is worse conditioned, and a misreading of
        # the defect (names paired with their own columns) would miss by several points
        assert abs(np.median(rate) - official["models"][model]["score"]) < 1.0, model
    intended = apply_estimator(units, ESTIMATOR["v20"], CONTROLS["markdown"], 0, 42)
    assert intended.control == ("header", "list", "bold") and intended.coef.shape == (3,)


def test_score_command_writes_the_estimators_layouts(tmp_path: Path) -> None:
    from _cli import sosbench_in_process

    write_v20(default_plan(201), tmp_path / "v20")
    write_v01(default_plan(101), tmp_path / "v01")
    v20 = ["judge", "score", "-J", str(tmp_path / "v20" / "model_judgment" / JUDGE), "--rounds", "10"]
    csv = sosbench_in_process(*v20, "--style-control", "both", "--format", "csv")
    assert csv.returncode == 0, csv.stderr
    header, first = csv.stdout.splitlines()[:2]
    assert header == "category,model,score,lower,upper,coef_length,coef_header,coef_list,coef_bold"
    assert first.startswith("hard_prompt,model-a,")  # the planted strongest model
    full = sosbench_in_process(*v20, "--estimator", "arena-hard-v2.0", "--style-control", "both",
                               "--rounds", "0", "--format", "json")  # fmt: skip
    board = json.loads(full.stdout)["categories"]["hard_prompt"]["criteria"]["overall"]
    assert board["point"] == "full-data fit (50 L-BFGS steps)" and board["level"] == 90.0
    gap = board["converged"]["max_gap_points"]
    per_model = board["converged"]["models"]["model-a"]
    assert gap + 1e-3 >= abs(per_model["converged"] - per_model["official_50_steps"]) > 0.05  # rounded
    v01 = ["judge", "score", "-J", str(tmp_path / "v01" / "model_judgment" / JUDGE), "--rounds", "10"]
    plain = sosbench_in_process(*v01, "--estimator", "arena-hard-v0.1", "--format", "csv")
    assert plain.stdout.splitlines()[0] == "model,score,lower,upper"
    for bad, message in (
        (["--estimator", "arena-hard-v3"], "unknown --estimator 'arena-hard-v3'"),
        (["--style-control", "colour"], "unknown --style-control 'colour'"),
    ):
        refused = sosbench_in_process(*v01, *bad)
        assert refused.returncode == 1 and message in refused.stderr, refused.stderr


def test_a_style_feature_that_never_varies_is_refused_in_one_line() -> None:
    units = StyleUnits(
        ("base", "m"),
        np.ones(4, dtype=int),
        np.array([1.0, 0.0, 1.0, 0.5]),
        np.array([[[100, 0, 2, 1], [50, 0, 1, 1]], [[80, 0, 3, 0], [60, 0, 1, 2]]] * 2, dtype=float),
        np.array([0, 0, 1, 1]),
    )
    for estimator in ("arena-hard-v0.1", "arena-hard-v2.0"):
        with pytest.raises(SosbenchError, match="header is the same in every battle"):
            apply_estimator(units, estimator, CONTROLS["both"], 0, 42)
        assert apply_estimator(units, estimator, CONTROLS["length"], 0, 42).coef.shape == (1,)


def test_v2_folder_scores_by_its_estimator_with_intervention_losses(tmp_path: Path) -> None:
    """`judge score` on a v2.0 folder, no flags: the arena-hard-v2.0 board, and a "<model>@<kind>" set
    judged beside its model shows its loss, as on a v0.1 folder."""
    from _cli import sosbench_in_process

    write_v20(default_plan(202), tmp_path)
    folder = tmp_path / "model_judgment" / JUDGE
    lines = [json.loads(line) for line in (folder / "model-a.jsonl").read_text().splitlines()]
    worse = {"B>A": "A>B", "B>>A": "A>>B", "A>B": "A>>B", "A>>B": "A>>B", "A=B": "A>B"}  # game 1: A is o3
    for line in lines:
        line["model"] = "model-a@verbose"
        first = line["games"][0]
        first["score"] = worse.get(first["score"], first["score"])
    (folder / "model-a@verbose.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    done = sosbench_in_process("judge", "score", "-J", str(folder), "--rounds", "20", "--format", "json")
    assert done.returncode == 0, done.stderr
    board = json.loads(done.stdout)["categories"]["hard_prompt"]
    assert board["criteria"]["overall"]["estimator"] == "arena-hard-v2.0"
    (loss,) = board["interventions"]
    assert loss["model"] == "model-a" and loss["kind"] == "verbose" and loss["loss_percent"] > 5
    scores = board["criteria"]["overall"]["models"]
    assert loss["original"] == pytest.approx(scores["model-a"]["score"], abs=1e-3)
    table = sosbench_in_process("judge", "score", "-J", str(folder), "--rounds", "20")
    assert "intervention score loss" in table.stdout and "estimator arena-hard-v2.0" in table.stdout
