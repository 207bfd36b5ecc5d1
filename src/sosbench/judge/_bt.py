"""Bradley-Terry by maximum likelihood, fitted for the full data and all bootstrap rounds at once.

The reference (Arena-Hard-Auto v0.1 ``show_result.py``) builds a battle matrix and runs a fresh sklearn
``LogisticRegression`` per bootstrap round. The model is the same here: P(i beats j) = sigmoid(t_i - t_j)
(Elo = 1000 + 400 / ln 10 * t), ties count half a win, no intercept, and the anchor model (the baseline)
has t = 0. What differs is how it is solved:

* identical battles are pooled, so the likelihood is a weighted sum over a few distinct rows (per model:
  loss, tie, win) instead of one row per battle;
* a bootstrap round is only a different weight vector over those rows (the counts of each row in the
  resample), so all rounds share one design matrix and are solved together by batched Newton steps
  (``numpy.linalg.solve`` on a stack of Hessians). No solver is built per round.

A ridge of 1e-6 on t keeps the optimum finite when a model wins (or loses) every battle; with hundreds of
battles its effect on any score is far below the reported precision. Resampling draws the same indices as
the reference (a legacy ``RandomState(seed)`` with ``randint(0, n)`` per round over the battle rows), so
with the same battle order the bootstrap percentiles match the reference's too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RIDGE = 1e-6
ELO_SCALE = 400.0 / np.log(10.0)


@dataclass(frozen=True)
class BTFit:
    """Strengths t (natural-log odds against the anchor) for the data and for each bootstrap round."""

    models: tuple[str, ...]
    strength: np.ndarray  # (p,) anchor at index 0 is 0
    boot_strength: np.ndarray  # (R, p)
    feature_coef: np.ndarray  # (k,) style-control coefficients, empty without features
    boot_feature_coef: np.ndarray  # (R, k)

    def win_rate(self) -> np.ndarray:
        """Percent chance of beating the anchor, per model."""
        return 100.0 / (1.0 + np.exp(-self.strength))

    def boot_win_rate(self) -> np.ndarray:
        """The win rates of every bootstrap round (R, p); rounds share their resample of battles, so two
        models' difference per round is paired (`sosbench compare --judgments`)."""
        return 100.0 / (1.0 + np.exp(-self.boot_strength))

    def win_rate_interval(self, level: float = 95.0) -> tuple[np.ndarray, np.ndarray]:
        """Bootstrap percentile interval of the win rate (percentiles of t, then mapped, as the reference)."""
        if self.boot_strength.shape[0] == 0:
            rate = self.win_rate()
            return rate, rate
        tail = (100.0 - level) / 2.0
        low, high = np.percentile(self.boot_strength, [tail, 100.0 - tail], axis=0)
        return 100.0 / (1.0 + np.exp(-low)), 100.0 / (1.0 + np.exp(-high))

    def elo(self) -> np.ndarray:
        """The reference's Elo scale (anchor = 1000)."""
        return 1000.0 + ELO_SCALE * self.strength


def newton_logistic(
    X: np.ndarray, y: np.ndarray, weights: np.ndarray, *, max_iter: int = 200, tol: float = 1e-10
) -> np.ndarray:
    """Weighted logistic regression without intercept, one fit per row of ``weights``, solved together.

    ``X`` is (m, d), ``y`` (m,) in [0, 1], ``weights`` (R, m). Returns (R, d). Newton's method with a step
    cap (so separable data climbs steadily instead of overshooting) and a tiny ridge.
    """
    rounds, dim = weights.shape[0], X.shape[1]
    theta = np.zeros((rounds, dim))
    eye = np.eye(dim) * RIDGE
    for _ in range(max_iter):
        p = 1.0 / (1.0 + np.exp(-(theta @ X.T)))  # (R, m)
        gradient = (weights * (y - p)) @ X - RIDGE * theta
        curvature = weights * p * (1.0 - p)
        hessian = np.einsum("rm,mi,mj->rij", curvature, X, X, optimize=True) + eye
        step = np.linalg.solve(hessian, gradient[..., None])[..., 0]
        largest = np.abs(step).max(axis=1, keepdims=True)
        step *= np.minimum(1.0, 5.0 / np.maximum(largest, 1e-300))
        theta += step
        if largest.max() < tol:
            break
    return theta


def pooled_rows(
    model: np.ndarray, opponent: np.ndarray, outcome: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (model, opponent, outcome) rows and, per battle, the index of its row."""
    key = np.stack([model, opponent, np.rint(outcome * 2).astype(np.intp)], axis=1)
    unique, inverse = np.unique(key, axis=0, return_inverse=True)
    return unique, inverse.reshape(-1)


def bootstrap_counts(inverse: np.ndarray, n_rows: int, rounds: int, seed: int) -> np.ndarray:
    """(rounds, n_rows): how often each pooled row appears in each resample of the battles."""
    if rounds == 0:
        return np.zeros((0, n_rows))
    rng = np.random.RandomState(seed)
    n = inverse.shape[0]
    picks = inverse[rng.randint(0, n, size=(rounds, n))]
    offsets = (np.arange(rounds) * n_rows)[:, None]
    return (
        np.bincount((picks + offsets).ravel(), minlength=rounds * n_rows)
        .reshape(rounds, n_rows)
        .astype(float)
    )


def fit_bradley_terry(
    models: tuple[str, ...],
    model: np.ndarray,
    opponent: np.ndarray,
    outcome: np.ndarray,
    *,
    rounds: int = 100,
    seed: int = 42,
    features: np.ndarray | None = None,
) -> BTFit:
    """Strengths of ``models`` (index 0 the anchor) from battles ``model`` vs ``opponent``.

    ``outcome`` is 1 when ``model`` won, 0.5 for a tie, 0 when it lost. ``features`` (n, k), if given, are
    per-battle covariates (style control); then rows are pooled per distinct battle, not per outcome.
    """
    p = len(models)
    if features is None:
        unique, inverse = pooled_rows(model, opponent, outcome)
        row_model, row_opponent, row_outcome = unique[:, 0], unique[:, 1], unique[:, 2] / 2.0
        row_features = np.zeros((len(unique), 0))
    else:
        unique_key = np.column_stack([model, opponent, outcome, features])
        unique, inverse = np.unique(unique_key, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        row_model, row_opponent = unique[:, 0].astype(np.intp), unique[:, 1].astype(np.intp)
        row_outcome, row_features = unique[:, 2], unique[:, 3:]
    design = np.zeros((len(unique), p))
    np.add.at(design, (np.arange(len(unique)), row_model), 1.0)
    np.add.at(design, (np.arange(len(unique)), row_opponent), -1.0)
    X = np.hstack([design[:, 1:], row_features])  # the anchor's column is dropped: its strength is 0
    full = np.bincount(inverse, minlength=len(unique)).astype(float)[None, :]
    weights = np.vstack([full, bootstrap_counts(inverse, len(unique), rounds, seed)])
    theta = _solve_in_chunks(X, row_outcome.astype(float), weights)
    strengths = np.hstack([np.zeros((theta.shape[0], 1)), theta[:, : p - 1]])
    coefs = theta[:, p - 1 :]
    return BTFit(models, strengths[0], strengths[1:], coefs[0], coefs[1:])


def _solve_in_chunks(
    X: np.ndarray, y: np.ndarray, weights: np.ndarray, chunk_cells: int = 4_000_000
) -> np.ndarray:
    """Bound memory for large per-battle designs (style control) by solving a few rounds at a time."""
    per_chunk = max(1, chunk_cells // max(1, X.shape[0] * X.shape[1]))
    return np.vstack(
        [newton_logistic(X, y, weights[i : i + per_chunk]) for i in range(0, len(weights), per_chunk)]
    )
