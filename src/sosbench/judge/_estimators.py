"""The official Arena-Hard-Auto score estimators, with and without style control, by name.

Two definitions exist and give different numbers on the same judgments (docs/judge.md puts them side by
side). Both score a model by its chance of beating the baseline; they differ in everything else.

``arena-hard-v0.1`` (``show_result.py`` and ``utils_math.py`` at arena-hard-auto 3071ef9, the leaderboards
of 2024 to early 2025, and the SOS-Bench paper's):

* without style control, a Bradley-Terry fit by maximum likelihood (ties half a win); the full-data fit
  is the score, and the 2.5th/97.5th percentiles of 100 bootstrap refits (battles resampled) the 95% CI;
* with style control, per battle and element e (tokens, headers, list items, bold spans, raw counts):
  ``(e_model - e_baseline) / (e_model + e_baseline + 1)``, each column standardised with ddof 0, added
  to the Bradley-Terry design; fitted by scikit-learn's ``LogisticRegression()``, whose default L2
  penalty (C = 1) applies to every coefficient, the models' (in units of ln 10, including the baseline's)
  and the style's, over the battles counted twice (a tie once each way). Score: the full-data fit at
  features 0; CI: bootstrap percentiles as above. Tokens are cl100k (gpt-3.5-turbo).

``arena-hard-v2.0`` (``show_result.py`` and ``utils/math_utils.py`` at 196f6b8):

* without style control, no model at all: per model, the mean of its battles' outcomes (a tie 0.5, a
  strong verdict three battles); 100 bootstrap rounds each resample every model's battles; the score is
  the mean of the 100 bootstrap means, the band their 5th and 95th percentiles (a 90% band);
* with style control: length ``(L_m - L_b) / (L_m + L_b)``; markdown as densities ``d = c / (L + 1)``
  turned into ``(d_m - d_b) / (d_m + d_b + 1)``; each column z-scored with ddof 1 over the battles of the
  category; no penalty; fitted by 50 steps of torch's L-BFGS (lr 0.1, no line search, float32, every
  parameter starting at 0.5) on each of 100 bootstrap resamples; score: the median of the 100 win rates,
  band: 5th and 95th percentiles. There is no full-data fit; ``rounds=0`` gives one (the same 50 steps
  on all battles). Tokens are o200k (gpt-4o).

Battles are taken in the order the official code lists them (``Battles`` gives it), and bootstrap
rounds draw the same indices as the official code's numpy calls for the same seed, so a round here
resamples exactly the battles the official round resampled.

Where the official code is broken, the intent is implemented and the defect documented (docs/judge.md):
v2.0's ``-f length`` alone slices away every feature but the first model's column and crashes; ``-f
markdown`` alone drops the first model's column and keeps the length column as if it were a model. Here
``length`` and ``markdown`` select exactly those features. v0.1-era's scikit-learn solver stops by its
default tolerance (up to about 0.16 points from its optimum); the optimum is computed here. v2.0's 50
steps do not converge (up to about two points); they are reproduced, and the converged fit is reported
beside them (``Estimate.converged``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sosbench.errors import SosbenchError
from sosbench.judge._bt import bootstrap_counts, fit_bradley_terry, solve_in_chunks
from sosbench.judge._lbfgs import lbfgs_fixed_steps

ESTIMATORS: tuple[str, ...] = ("arena-hard-v0.1", "arena-hard-v2.0")
STYLE_FEATURES: tuple[str, ...] = ("length", "header", "list", "bold")
CONTROLS: dict[str, tuple[str, ...]] = {
    "length": ("length",),
    "markdown": ("header", "list", "bold"),
    "both": STYLE_FEATURES,
}
LN10 = float(np.log(10.0))


@dataclass(frozen=True)
class StyleUnits:
    """Battles of judged models against one baseline, in the official order, with both answers' style.

    ``style[i]`` holds, for battle i, the judged model's answer (row 0) and the baseline's (row 1): token
    length, headers, list items and bold spans (Arena-Hard's answer metadata, each count summed over its
    kinds). ``None`` when the answers were not read (no style control).
    """

    models: tuple[str, ...]  # index 0 is the baseline
    model: np.ndarray  # (n,) index of the judged model
    outcome: np.ndarray  # (n,) 1 the judged model won, 0.5 tie, 0 lost
    style: np.ndarray | None = None  # (n, 2, 4)
    cluster: np.ndarray | None = None  # (n,) question of each battle (for clustered intervals)


@dataclass(frozen=True)
class Estimate:
    """One estimator's leaderboard: win rate against the baseline (percent, baseline 50) per model."""

    estimator: str
    control: tuple[str, ...]  # style features controlled for; () without style control
    models: tuple[str, ...]  # index 0 is the baseline
    score: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    level: float  # the band's coverage in percent: 95 (v0.1) or 90 (v2.0)
    coef: np.ndarray  # (k,) style coefficients (per standardised feature), as the estimator reports them
    rounds: int
    seed: int
    boot_score: np.ndarray  # (rounds, p) win rate per bootstrap round
    boot_coef: np.ndarray  # (rounds, k)
    point: str  # what ``score`` is: "full-data fit", "bootstrap median", ...
    full_data: np.ndarray | None = None  # v2.0 with style control: the 50 official steps on all battles
    converged: np.ndarray | None = None  # ... and the likelihood's optimum there
    converged_coef: np.ndarray | None = None

    def coef_interval(self) -> tuple[np.ndarray, np.ndarray]:
        """The style coefficients' bootstrap band at the estimator's level (without rounds: the point)."""
        if self.boot_coef.shape[0] == 0:
            return self.coef, self.coef
        tail = (100.0 - self.level) / 2.0
        low, high = np.percentile(self.boot_coef, [tail, 100.0 - tail], axis=0)
        return low, high


def parse_control(value: str | None) -> tuple[str, ...]:
    """``--style-control``: length, markdown or both (none: no style control)."""
    if value is None or value == "none":
        return ()
    if value not in CONTROLS:
        raise SosbenchError(f"unknown --style-control {value!r}: use length, markdown or both")
    return CONTROLS[value]


def apply_estimator(
    units: StyleUnits, estimator: str, control: tuple[str, ...], rounds: int, seed: int
) -> Estimate:
    """Score battles with a named official estimator (see the module docstring)."""
    if estimator not in ESTIMATORS:
        raise SosbenchError(f"unknown --estimator {estimator!r}: use {' or '.join(ESTIMATORS)}")
    if rounds < 0:
        raise SosbenchError("--rounds must be 0 or more")
    if control and units.style is None:
        raise SosbenchError("style control needs the answers' style (token length and markdown counts)")
    if estimator == "arena-hard-v0.1":
        return _v01_styled(units, control, rounds, seed) if control else _v01_plain(units, rounds, seed)
    return _v20_styled(units, control, rounds, seed) if control else _v20_plain(units, rounds, seed)


def _columns(control: tuple[str, ...]) -> list[int]:
    return [STYLE_FEATURES.index(f) for f in control]


def win_rate(strength: np.ndarray) -> np.ndarray:
    """Percent chance of beating the baseline for a log-odds strength against it."""
    return 100.0 / (1.0 + np.exp(-strength))


def _percentile_band(strength: np.ndarray, full: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    if strength.shape[0] == 0:
        return full, full
    tail = (100.0 - level) / 2.0
    low, high = np.percentile(strength, [tail, 100.0 - tail], axis=0)
    return low, high


# ------------------------------------------------------------------------------------------ v0.1 era
def _v01_plain(units: StyleUnits, rounds: int, seed: int) -> Estimate:
    fit = fit_bradley_terry(
        units.models, units.model, np.zeros_like(units.model), units.outcome, rounds=rounds, seed=seed
    )
    low, high = _percentile_band(fit.boot_strength, fit.strength, 95.0)
    return Estimate(
        "arena-hard-v0.1",
        (),
        units.models,
        win_rate(fit.strength),
        win_rate(low),
        win_rate(high),
        95.0,
        np.zeros(0),
        rounds,
        seed,
        win_rate(fit.boot_strength),
        np.zeros((fit.boot_strength.shape[0], 0)),
        "full-data fit",
    )


def v01_ratios(style: np.ndarray, control: tuple[str, ...]) -> np.ndarray:
    """v0.1-era style features before standardisation: count ratios, judged model minus baseline."""
    model, base = style[:, 0, _columns(control)], style[:, 1, _columns(control)]
    return (model - base) / (model + base + 1.0)


def _check_spread(spread: np.ndarray, control: tuple[str, ...]) -> None:
    """A feature that never varies cannot be standardised (the official code divides by 0 and fails)."""
    flat = [f for f, sd in zip(control, spread, strict=True) if not sd > 0]
    if flat:
        raise SosbenchError(
            f"style control: {', '.join(flat)} is the same in every battle (no answer pair differs in it), "
            "so it cannot be controlled for: leave it out (--style-control length or markdown)"
        )


def v01_features(style: np.ndarray, control: tuple[str, ...]) -> np.ndarray:
    """v0.1-era style features: :func:`v01_ratios` standardised with ddof 0."""
    ratio = v01_ratios(style, control)
    spread = ratio.std(axis=0)
    _check_spread(spread, control)
    return (ratio - ratio.mean(axis=0)) / spread


def _v01_design(units: StyleUnits, features: np.ndarray) -> np.ndarray:
    """Every model's column (the baseline's too) in units of ln 10, then the features, as 3071ef9 has it."""
    n, p = len(units.model), len(units.models)
    design = np.zeros((n, p))
    design[np.arange(n), units.model] = LN10
    design[:, 0] -= LN10
    return np.hstack([design, features])


def _v01_styled(units: StyleUnits, control: tuple[str, ...], rounds: int, seed: int) -> Estimate:
    assert units.style is not None
    features = v01_features(units.style.astype(float), control)
    X = _v01_design(units, features)
    rows, inverse = np.unique(np.column_stack([X, units.outcome]), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    full = np.bincount(inverse, minlength=len(rows)).astype(float)[None, :]
    weights = 2.0 * np.vstack([full, bootstrap_counts(inverse, len(rows), rounds, seed)])
    theta = solve_in_chunks(rows[:, :-1], rows[:, -1], weights, penalty=1.0)
    p = len(units.models)
    strength = LN10 * (theta[:, :p] - theta[:, :1])
    low, high = _percentile_band(strength[1:], strength[0], 95.0)
    return Estimate(
        "arena-hard-v0.1",
        control,
        units.models,
        win_rate(strength[0]),
        win_rate(low),
        win_rate(high),
        95.0,
        theta[0, p:],
        rounds,
        seed,
        win_rate(strength[1:]),
        theta[1:, p:],
        "full-data fit",
    )


# ------------------------------------------------------------------------------------------ v2.0
def _v20_plain(units: StyleUnits, rounds: int, seed: int) -> Estimate:
    """Mean outcome per model; the mean of bootstrap means, each model's battles resampled on their own."""
    p = len(units.models)
    order = sorted(range(1, p), key=lambda i: units.models[i])  # pandas groupby's order: by name
    groups = {i: units.outcome[units.model == i] for i in order}
    boot = np.full((rounds, p), 50.0)
    rng = np.random.RandomState(seed)
    for r in range(rounds):
        for i in order:
            group = groups[i]
            boot[r, i] = 100.0 * group[rng.randint(0, len(group), size=len(group))].mean()
    plain = np.array([50.0] + [100.0 * groups[i].mean() for i in range(1, p)])
    score = boot.mean(axis=0) if rounds else plain
    low, high = _percentile_band(boot, score, 90.0)
    return Estimate(
        "arena-hard-v2.0",
        (),
        units.models,
        score,
        low,
        high,
        90.0,
        np.zeros(0),
        rounds,
        seed,
        boot,
        np.zeros((rounds, 0)),
        "mean of bootstrap means" if rounds else "mean outcome",
    )


def v20_ratios(style: np.ndarray, dtype: type[np.floating] = np.float32) -> np.ndarray:
    """v2.0 style features before standardisation (all four, judged model minus baseline, in ``dtype``)."""
    model: np.ndarray = style[:, 0].astype(dtype)
    base: np.ndarray = style[:, 1].astype(dtype)
    one = dtype(1.0)
    features = np.empty_like(model)
    features[:, 0] = (model[:, 0] - base[:, 0]) / (model[:, 0] + base[:, 0])
    dm, db = model[:, 1:] / (model[:, :1] + one), base[:, 1:] / (base[:, :1] + one)
    features[:, 1:] = (dm - db) / (dm + db + one)
    if not np.isfinite(features).all():
        raise SosbenchError("style control: an answer pair with no tokens on either side (0/0 length ratio)")
    return features


def v20_features(
    style: np.ndarray, control: tuple[str, ...], dtype: type[np.floating] = np.float32
) -> np.ndarray:
    """v2.0 style features: :func:`v20_ratios` z-scored with ddof 1 over all battles (in v2.0's float32)."""
    features = v20_ratios(style, dtype)[:, _columns(control)]
    spread = features.std(axis=0, ddof=1)
    _check_spread(spread, control)
    return (features - features.mean(axis=0, dtype=dtype)) / spread


def _v20_design(units: StyleUnits, features: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """One column per model in name order (baseline included), +1 judged model, -1 baseline: as v2.0."""
    names = sorted(units.models)
    column = [names.index(m) for m in units.models]  # model index -> column
    n = len(units.model)
    design = np.zeros((n, len(names)), dtype=features.dtype)
    design[np.arange(n), np.asarray(column)[units.model]] = 1.0
    design[:, column[0]] = -1.0
    return np.hstack([design, features]), column


def _v20_styled(units: StyleUnits, control: tuple[str, ...], rounds: int, seed: int) -> Estimate:
    assert units.style is not None
    X, column = _v20_design(units, v20_features(units.style, control))
    p, n = len(units.models), len(units.model)
    rows, inverse = np.unique(np.column_stack([X, units.outcome]), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    full = np.bincount(inverse, minlength=len(rows)).astype(float)[None, :]
    weights = np.vstack([full, bootstrap_counts(inverse, len(rows), rounds, seed)])
    X32, y32 = rows[:, :-1].astype(np.float32), rows[:, -1].astype(np.float32)
    per_chunk = max(1, 4_000_000 // len(rows))  # bounded memory: (rounds, rows) arrays per step
    fits = np.vstack(
        [lbfgs_fixed_steps(X32, y32, weights[i : i + per_chunk]) for i in range(0, len(weights), per_chunk)]
    )
    strength = fits[:, column].astype(float) - fits[:, [column[0]]].astype(float)
    rates, coefs = win_rate(strength), fits[:, p:].astype(float)
    # the optimum on the same features in float64: baseline anchored, no penalty beyond a 1e-6 ridge
    X64, _ = _v20_design(units, v20_features(units.style, control, np.float64))
    anchored = np.delete(X64, column[0], axis=1)
    reorder = [c if c < column[0] else c - 1 for c in column[1:]]
    theta = solve_in_chunks(anchored, units.outcome.astype(float), np.ones((1, n)))[0]
    converged = win_rate(np.concatenate([[0.0], theta[reorder]]))
    if rounds:
        score, coef = np.median(rates[1:], axis=0), np.median(coefs[1:], axis=0)
        low, high = _percentile_band(rates[1:], score, 90.0)
    else:
        score, low, high, coef = rates[0], rates[0], rates[0], coefs[0]
    return Estimate(
        "arena-hard-v2.0",
        control,
        units.models,
        score,
        low,
        high,
        90.0,
        coef,
        rounds,
        seed,
        rates[1:],
        coefs[1:],
        "bootstrap median" if rounds else "full-data fit (50 L-BFGS steps)",
        rates[0],
        converged,
        theta[len(theta) - len(control) :],
    )


# ------------------------------------------------------------------------------------------ coefficients
@dataclass(frozen=True)
class StyleCoefficients:
    """Style coefficients at the optimum of an estimator's model, with cluster-robust standard errors."""

    features: tuple[str, ...]
    coef: np.ndarray  # log-odds per standard deviation of each feature
    se: np.ndarray  # jackknife-over-questions (CR3) standard error
    sd: np.ndarray  # each raw feature's sd, as the estimator standardises it
    clusters: int  # questions (G): the interval's t distribution has G - 1 degrees of freedom

    def interval(self, level: float = 95.0) -> tuple[np.ndarray, np.ndarray]:
        """The coefficients' ``level``% interval: coef -/+ t(G - 1) quantile x CR3 standard error."""
        from scipy import stats

        half = float(stats.t.ppf(0.5 + level / 200.0, max(self.clusters - 1, 1))) * self.se
        return self.coef - half, self.coef + half


def optimum_coefficients(units: StyleUnits, estimator: str, control: tuple[str, ...]) -> StyleCoefficients:
    """The estimator's model fitted to convergence on all battles, and its variance clustered by question.

    v0.1-era: its own design and penalty (every model's column in ln 10 units, L2 penalty 1, battles
    counted twice). v2.0: the baseline anchored at 0, no penalty (a 1e-6 ridge keeps separable data
    finite). Both games of a question, and every model's battles on it, share the question and the
    baseline's answer, so the variance is clustered by question (``units.cluster``), with the small-sample
    correction the cluster-robust literature recommends for few clusters: the jackknife over clusters
    (CR3/CV3; MacKinnon, Nielsen & Webb 2023, "Cluster-robust inference: a guide to empirical practice")
    with t(G - 1) quantiles (:meth:`StyleCoefficients.interval`). For a logistic model each question's
    leave-one-out change is taken as one Newton step from the optimum, ``(H - H_g)^-1 s_g``, which is
    Mancl and DeRouen's (2001) bias-corrected sandwich for GEE and the exact CV3 for a linear model.
    Measured coverage on synthetic judges is in docs/judge.md.
    """
    if units.style is None or not control:
        raise SosbenchError("style coefficients need style control and the answers' style")
    n, p = len(units.model), len(units.models)
    one_hot = np.zeros((n, p))
    one_hot[np.arange(n), units.model] = 1.0
    style = units.style.astype(float)
    if estimator == "arena-hard-v0.1":
        ratios = v01_ratios(style, control)
        X = _v01_design(units, v01_features(style, control))
        weight, penalty, ddof = 2.0, 1.0, 0
    else:
        ratios = v20_ratios(style, np.float64)[:, _columns(control)]
        X = np.hstack([one_hot[:, 1:], v20_features(style, control, np.float64)])
        weight, penalty, ddof = 1.0, 1e-6, 1
    y = units.outcome.astype(float)
    theta = solve_in_chunks(X, y, np.full((1, n), weight), penalty=penalty)[0]
    prob = 1.0 / (1.0 + np.exp(-(X @ theta)))
    cluster = units.cluster if units.cluster is not None else np.arange(n)
    groups = np.unique(cluster, return_inverse=True)[1].reshape(-1)
    g, d = int(groups.max()) + 1, X.shape[1]
    scores = np.zeros((g, d))
    np.add.at(scores, groups, X * (weight * (y - prob))[:, None])
    curvature = np.zeros((g, d, d))
    np.add.at(curvature, groups, np.einsum("ni,nj->nij", X, X * (weight * prob * (1.0 - prob))[:, None]))
    hessian = curvature.sum(axis=0) + penalty * np.eye(d)
    # each question's leave-one-out change, one Newton step from the optimum: (H - H_g)^-1 s_g
    shifts = np.linalg.solve(hessian[None] - curvature, scores[..., None])[..., 0]
    covariance = (g - 1) / g * shifts.T @ shifts
    k = len(control)
    return StyleCoefficients(
        control, theta[-k:], np.sqrt(np.diag(covariance))[-k:], ratios.std(axis=0, ddof=ddof), g
    )
