"""The judge audit and its bias card: does a judge pay for style, and does style control help?

Per judge folder and leaderboard (v0.1: one, against ``baseline``; v2.0: one per category judged, each
against the category's own baseline, as v2.0 scores them):

* **criteria**: every criterion's score (Bradley-Terry point estimates) correlated with the overall score
  across the judged models (Pearson and Spearman). The paper finds style ~ overall at R ~ 1.0.
* **factors**: with SOS-Bench run folders, the judge's overall score correlated with each factor score
  (WK, IF, Safety) of the same models, matched by exact model name; a factor missing some of its
  benchmarks (incomplete) is left out for that model.
* **cards**, one per estimator (``arena-hard-v0.1``, ``arena-hard-v2.0``; docs/judge.md), when the answers
  are there for style control:

  - each model's raw and style-controlled score (the estimator's own, with its band) and the shift;
  - the style coefficients with 95% CIs, in reader terms: points of win rate, at an even match, per +50%
    length against the baseline's answer and per extra header, list item or bold span per 100 tokens,
    each at the baseline's typical length and density. The coefficient is the estimator model's optimum
    (the official v2.0 optimiser stops short of it); the CI is the jackknife over questions (CR3) with
    t(G - 1) quantiles, the small-sample cluster-robust interval, since all battles of a question share
    the baseline's answer (``judge.optimum_coefficients`` says why this one);
  - the intervention losses of ``<model>@<kind>`` answer sets, raw and style-controlled;
  - with factor scores: Spearman's rho of the raw and of the style-controlled scores with each factor and
    with their mean (SOS-Bench Overall), with 95% bootstrap CIs over models, and the paired difference;
  - a verdict from the Overall difference (else the only factor): style control moved the judge
    **toward** ground truth (CI of the difference above 0), **away** from it (below 0), or **no
    detectably closer** (the CI covers 0); and the finding in one sentence.

The baseline is left out of correlations (its score is 50 by construction), and so are rewritten answer
sets (``<model>@<kind>``): they are interventions, not models. Output layout (read by the report)::

    {"judges": [{"judge": str, "benchmark": str, "category": str, "baseline": str, "n_models": int,
                 "criteria": {criterion: {"pearson": float, "spearman": float, "n": int}},
                 "factors": {factor: {"pearson": float, "spearman": float, "n": int}},
                 "scores": {model: {criterion: float}},
                 "cards": [card, ...]}],
     "notes": [str]}

A correlation that is undefined (fewer than 3 models, or a constant column) is ``null``, with ``why`` beside
it; ``notes`` (top level) names the models whose partial factors were left out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sosbench.errors import SosbenchError
from sosbench.judge import (
    ALL_CRITERIA,
    DEFAULT_BASELINE,
    OVERALL_CRITERION,
    PERTURBED_SEPARATOR,
    STYLE_FEATURES,
    BenchDir,
    CategoryGames,
    Estimate,
    Leaderboard,
    ScoreOptions,
    StyleUnits,
    apply_estimator,
    build_battles,
    category_games,
    losses_of,
    optimum_coefficients,
    read_judge_name,
    score_group,
    style_units,
)

LEVEL = 95.0
OVERALL_FACTOR = "Overall"
FACTOR_ROUNDS = 2000


def correlation(x: Sequence[float | None], y: Sequence[float | None]) -> dict[str, float | int | str | None]:
    """Pearson and Spearman of paired values (None where undefined, and ``why`` says why)."""
    from scipy import stats

    pairs = [(a, b) for a, b in zip(x, y, strict=True) if _finite(a) is not None and _finite(b) is not None]
    result: dict[str, float | int | str | None] = {"pearson": None, "spearman": None, "n": len(pairs)}
    if len(pairs) < 3:
        result["why"] = f"{len(pairs)} model{'' if len(pairs) == 1 else 's'} with both scores, 3 needed"
        return result
    a, b = np.array(pairs).T
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        result["why"] = "every model has the same score, so nothing varies to correlate"
        return result
    result["pearson"] = float(stats.pearsonr(a, b)[0])
    result["spearman"] = float(stats.spearmanr(a, b)[0])
    return result


def factor_scores(run_paths: list[Path]) -> tuple[dict[str, dict[str, float]], list[str]]:
    """SOS-Bench factor scores per model from run folders, through the scoring layer, and a note per model
    whose partial factors are left out."""
    from sosbench.scoring import score_paths

    report = score_paths(run_paths, allow_partial=True, bootstrap=0)
    scores: dict[str, dict[str, float]] = {}
    notes = []
    for entry in report.models:
        partial = []
        for name, factor in entry.factors.items():
            value = _finite(factor.score)
            # a factor without a score, or averaged over only some of its benchmarks, is left out (not zero,
            # not a partial mean that would not be comparable with complete ones)
            if value is not None and getattr(factor, "complete", False):
                scores.setdefault(entry.model, {})[name] = value
            else:
                gap = f"misses {', '.join(factor.missing)}" if factor.missing else f"over {factor.partial}"
                partial.append(f"{name} ({gap})")
        if partial:
            notes.append(
                f"{entry.model}: {', '.join(partial)} left out of the factor correlations: a partial run's "
                "factor is a mean over other benchmarks, not comparable with complete ones"
            )
    return scores, notes


def _finite(value: object) -> float | None:
    """A score as float, or None when it is missing or not a finite number."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


# ---------------------------------------------------------------------------------------------- coefficients
@dataclass(frozen=True)
class Coefficient:
    """A style coefficient at the optimum with its 95% CI, per sd of the feature and in reader terms."""

    feature: str
    coef: float  # log-odds per standard deviation of the estimator's feature
    lower: float
    upper: float
    sd: float  # the feature's sd, as the estimator standardises it
    reader_step: float  # the raw feature's change for the reader's step (+50% length, +1 per 100 tokens)
    reader_unit: str

    def per_unit(self, coef: float) -> float:
        """Log-odds per unit of the raw (unstandardised) feature."""
        return coef / self.sd if self.sd > 0 else 0.0

    def points(self, coef: float) -> float:
        """Points of win rate, at an even match, for the reader's step."""
        return 100.0 / (1.0 + math.exp(-self.per_unit(coef) * self.reader_step)) - 50.0

    def to_json(self) -> dict[str, Any]:
        return {
            "coef": self.coef,
            "lower": self.lower,
            "upper": self.upper,
            "points": self.points(self.coef),
            "points_lower": self.points(self.lower),
            "points_upper": self.points(self.upper),
            "reader_unit": self.reader_unit,
        }


def _reader_steps(units: StyleUnits, estimator: str, control: tuple[str, ...]) -> list[tuple[float, str]]:
    """Per feature, the raw feature's change for a reader's step, at the baseline's typical answer."""
    assert units.style is not None
    base = units.style[:, 1].astype(float)
    length = float(np.median(base[:, 0]))
    steps = []
    for feature in control:
        j = STYLE_FEATURES.index(feature)
        if feature == "length":
            step = 0.5 * length / (2.5 * length + (1.0 if estimator == "arena-hard-v0.1" else 0.0))
            steps.append((step, "per +50% length"))
            continue
        if estimator == "arena-hard-v0.1":  # raw counts: one more per 100 tokens of the typical length
            count, extra = float(np.median(base[:, j])), length / 100.0
            step = extra / (2.0 * count + extra + 1.0)
        else:  # densities per token: 0.01 more
            density = float(np.median(base[:, j] / (base[:, 0] + 1.0)))
            step = 0.01 / (2.0 * density + 0.01 + 1.0)
        steps.append((step, f"per extra {feature} per 100 tokens"))
    return steps


def style_coefficients(units: StyleUnits, estimator: str, control: tuple[str, ...]) -> list[Coefficient]:
    """The estimator's style coefficients at its model's optimum, with jackknife-by-question 95% CIs."""
    fit = optimum_coefficients(units, estimator, control)
    lower, upper = fit.interval(LEVEL)
    steps = _reader_steps(units, estimator, control)
    return [
        Coefficient(f, float(c), float(lo), float(hi), float(sd), step, unit)
        for f, c, lo, hi, sd, (step, unit) in zip(control, fit.coef, lower, upper, fit.sd, steps, strict=True)
    ]


# ---------------------------------------------------------------------------------------------- ground truth
def _rankdata(values: np.ndarray) -> np.ndarray:
    from scipy import stats

    return stats.rankdata(values, axis=-1)


def _rowwise_spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    from sosbench.analysis._correlation import rowwise_pearson

    return rowwise_pearson(_rankdata(a), _rankdata(b))


def ground_truth(
    raw: dict[str, float], controlled: dict[str, float], factors: dict[str, dict[str, float]], seed: int = 0
) -> dict[str, dict[str, Any]]:
    """Spearman's rho of raw and style-controlled scores with each factor and Overall (bootstrap over models).

    ``factors``: model -> factor -> score. Overall is the scoring layer's where it gives one, else the mean
    of a model's factors, for the models that have every factor any model has. The difference (controlled
    minus raw) is bootstrapped on the same resampled models, so its CI is paired.
    """
    names = sorted({f for scores in factors.values() for f in scores})
    columns = {f: {m: v[f] for m, v in factors.items() if f in v} for f in names}
    parts = [f for f in names if f != OVERALL_FACTOR]
    if OVERALL_FACTOR not in columns and len(parts) > 1:
        columns[OVERALL_FACTOR] = {
            m: float(np.mean([v[f] for f in parts])) for m, v in factors.items() if all(f in v for f in parts)
        }
    rng = np.random.default_rng(seed)
    out: dict[str, dict[str, Any]] = {}
    for name, truth in columns.items():
        models = sorted(m for m in truth if m in raw and m in controlled)
        if len(models) < 3:
            out[name] = {"n": len(models), "raw": None, "controlled": None, "difference": None}
            continue
        t = np.array([truth[m] for m in models])
        r = np.array([raw[m] for m in models])
        c = np.array([controlled[m] for m in models])
        idx = rng.integers(0, len(models), size=(FACTOR_ROUNDS, len(models)))
        boot_raw, boot_controlled = _rowwise_spearman(r[idx], t[idx]), _rowwise_spearman(c[idx], t[idx])
        point_raw = float(_rowwise_spearman(r[None], t[None])[0])
        point_controlled = float(_rowwise_spearman(c[None], t[None])[0])
        out[name] = {
            "n": len(models),
            "raw": _with_ci(point_raw, boot_raw),
            "controlled": _with_ci(point_controlled, boot_controlled),
            "difference": _with_ci(point_controlled - point_raw, boot_controlled - boot_raw),
        }
    return out


def _with_ci(point: float, boot: np.ndarray) -> dict[str, float | None]:
    finite = boot[np.isfinite(boot)]
    low, high = np.percentile(finite, [2.5, 97.5]) if finite.size else (math.nan, math.nan)
    return {"rho": _json_float(point), "lower": _json_float(low), "upper": _json_float(high)}


def _json_float(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def verdict(truth: dict[str, dict[str, Any]]) -> tuple[str | None, str | None]:
    """(verdict, factor it rests on): Overall's paired difference, else the only factor's."""
    chosen = OVERALL_FACTOR if OVERALL_FACTOR in truth else (next(iter(truth)) if len(truth) == 1 else None)
    difference = truth.get(chosen or "", {}).get("difference")
    if not difference or difference["lower"] is None:
        return None, chosen
    if difference["lower"] > 0:
        return "toward", chosen
    if difference["upper"] < 0:
        return "away", chosen
    return "no detectable change", chosen


# ---------------------------------------------------------------------------------------------- the card
def _scores(result: Estimate) -> dict[str, tuple[float, float, float]]:
    return {
        m: (float(s), float(lo), float(hi))
        for m, s, lo, hi in zip(result.models, result.score, result.lower, result.upper, strict=True)
    }


def _losses(scores: dict[str, tuple[float, float, float]]) -> dict[tuple[str, str], float]:
    """(model, kind) -> the loss of each rewritten answer set, in percent."""
    found = losses_of({OVERALL_CRITERION: {m: s[0] for m, s in scores.items()}})
    return {(x.model, x.kind): x.loss_percent for x in found}


def bias_card(
    units: StyleUnits,
    estimator: str,
    control: tuple[str, ...],
    *,
    judge: str,
    rounds: int,
    seed: int,
    factors: dict[str, dict[str, float]] | None = None,
) -> dict[str, Any]:
    """One judge's card for one estimator (see the module docstring)."""
    raw = _scores(apply_estimator(units, estimator, (), rounds, seed))
    styled = apply_estimator(units, estimator, control, rounds, seed)
    controlled = _scores(styled)
    baseline = units.models[0]
    models = [m for m in units.models[1:] if PERTURBED_SEPARATOR not in m]
    coefficients = style_coefficients(units, estimator, control)
    raw_losses, controlled_losses = _losses(raw), _losses(controlled)
    card: dict[str, Any] = {
        "estimator": estimator,
        "style_control": list(control),
        "baseline": baseline,
        "level": styled.level,
        "point": styled.point,
        "models": {
            m: {
                "raw": raw[m][0],
                "raw_lower": raw[m][1],
                "raw_upper": raw[m][2],
                "controlled": controlled[m][0],
                "controlled_lower": controlled[m][1],
                "controlled_upper": controlled[m][2],
                "shift": controlled[m][0] - raw[m][0],
            }
            for m in models
        },
        "coefficients": {c.feature: c.to_json() for c in coefficients},
        "interventions": [
            {
                "model": base,
                "kind": kind,
                "raw_loss_percent": loss,
                "controlled_loss_percent": controlled_losses[base, kind],
            }
            for (base, kind), loss in raw_losses.items()
        ],
    }
    truth = ground_truth(
        {m: raw[m][0] for m in models}, {m: controlled[m][0] for m in models}, factors or {}, seed
    )
    card["ground_truth"] = truth
    card["verdict"], card["verdict_factor"] = verdict(truth)
    card["finding"] = finding(judge, card, coefficients)
    return card


def finding(judge: str, card: dict[str, Any], coefficients: list[Coefficient]) -> str:
    """The card's finding in one sentence."""
    pays = ""
    if "length" in card["coefficients"]:
        c = card["coefficients"]["length"]
        pays = (
            f"it pays {c['points']:+.1f} points of win rate per +50% length "
            f"(95% CI {c['points_lower']:+.1f} to {c['points_upper']:+.1f})"
        )
    elif coefficients:
        c = coefficients[0].to_json()
        pays = f"{coefficients[0].feature} moves it {c['points']:+.1f} points {c['reader_unit']}"
    head = f"Judge {judge} ({card['estimator']}, style control: {', '.join(card['style_control'])})"
    if card["verdict"] is None:
        return f"{head}: {pays}; no SOS-Bench factor scores to compare with (pass --runs)."
    d = card["ground_truth"][card["verdict_factor"]]
    change = (
        f"Spearman with SOS-Bench {card['verdict_factor']} {d['raw']['rho']:+.2f} raw, "
        f"{d['controlled']['rho']:+.2f} style-controlled (difference {d['difference']['rho']:+.2f}, "
        f"95% CI {d['difference']['lower']:+.2f} to {d['difference']['upper']:+.2f})"
    )
    moved = {
        "toward": "moved the judge toward ground truth",
        "away": "moved the judge away from ground truth",
        "no detectable change": "brought the judge no detectably closer to ground truth",
    }[card["verdict"]]
    return f"{head}: style control {moved}: {change}; {pays}."


# ---------------------------------------------------------------------------------------------- the audit
def audit_judges(
    judgment_dirs: list[Path],
    baseline: str | None = None,
    run_paths: list[Path] | None = None,
    *,
    estimators: Sequence[str] = ("arena-hard-v0.1", "arena-hard-v2.0"),
    control: tuple[str, ...] = STYLE_FEATURES,
    rounds: int = 100,
    seed: int = 42,
    bench_dir: Path | None = None,
    factors: dict[str, dict[str, float]] | None = None,
) -> dict:
    """The audit of each judge folder, one entry per leaderboard (see the module docstring for the layout).

    ``baseline`` is v0.1's (default gpt-4-0314); a v2.0 folder gets one entry per category judged, each
    against its category's own baseline, and refuses ``baseline``. Cards need the answers (``bench_dir``,
    default two folders above each judge folder); without them an entry gets no cards and a
    ``cards_missing`` reason.
    """
    notes: list[str] = []
    if factors is None:
        factors, notes = factor_scores(run_paths) if run_paths else ({}, [])
    judges = []
    for directory in judgment_dirs:
        options = ScoreOptions(baseline=baseline or DEFAULT_BASELINE, criteria=ALL_CRITERIA, rounds=0)
        benchmark, groups = category_games(directory, options)
        if benchmark.per_question and baseline is not None:
            raise SosbenchError(
                f"--baseline does not apply to {benchmark.name} ({directory}): each category has its own"
            )
        judge = read_judge_name(directory)
        for group in groups:
            entry = _criteria_audit(score_group(directory, group, options, benchmark), factors)
            if estimators and control:
                bench = BenchDir(bench_dir or directory.resolve().parent.parent, benchmark)
                entry["cards"], missing = _cards(
                    group, benchmark.per_question, bench, judge, factors, estimators, control, rounds, seed
                )
                if missing:
                    entry["cards_missing"] = "; ".join(missing)
            judges.append(entry)
    return {"judges": judges, "notes": notes}


def audit_label(entry: dict[str, Any]) -> str:
    """An audit entry's judge as readers show it: with its category for v2.0 (each has its own baseline)."""
    category, judge = entry.get("category"), str(entry.get("judge", "?"))
    return f"{judge} ({category})" if category and category != entry.get("benchmark", category) else judge


def _cards(
    group: CategoryGames,
    per_question: bool,
    bench: BenchDir,
    judge: str,
    factors: dict[str, dict[str, float]],
    estimators: Sequence[str],
    control: tuple[str, ...],
    rounds: int,
    seed: int,
) -> tuple[list[dict[str, Any]], list[str]]:
    """One leaderboard's cards, one per estimator, on the overall verdicts and the answers they judged,
    and why an estimator has none (no answers, or a style feature it cannot read from them)."""
    battles = build_battles(group.games, OVERALL_CRITERION, group.baseline, per_question=per_question)
    try:
        answers = {m: bench.answers(m) for m in battles.models}
    except SosbenchError as exc:
        return [], [f"no style control without the answers: {exc}"]
    cards, missing = [], []
    for name in estimators:
        try:
            units = style_units(battles, name, answers)  # each estimator reads its own tokens
            card = bias_card(units, name, control, judge=judge, rounds=rounds, seed=seed, factors=factors)
        except SosbenchError as exc:
            missing.append(f"no {name} card: {exc}")
            continue
        cards.append({"category": group.name, **card})
    return cards, missing


def _criteria_audit(board: Leaderboard, factors: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Each criterion and factor correlated with one leaderboard's overall score, across its models."""
    per_model: dict[str, dict[str, float]] = {}
    for result in board.results:
        for model, score in result.as_dict().items():
            value = _finite(score)
            if model != board.baseline and PERTURBED_SEPARATOR not in model and value is not None:
                per_model.setdefault(model, {})[result.criterion] = value
    models = sorted(per_model)
    overall = [per_model[m].get(OVERALL_CRITERION, math.nan) for m in models]
    criteria = {
        r.criterion: correlation([per_model[m].get(r.criterion, math.nan) for m in models], overall)
        for r in board.results
        if r.criterion != OVERALL_CRITERION
    }
    factor_names = sorted({f for scores in factors.values() for f in scores})
    factor_corr = {
        name: correlation([factors.get(m, {}).get(name, math.nan) for m in models], overall)
        for name in factor_names
    }
    return {
        "judge": board.judge,
        "benchmark": board.benchmark,
        "category": board.category,
        "baseline": board.baseline,
        "n_models": len(models),
        "criteria": criteria,
        "factors": factor_corr,
        "scores": per_model,
    }
