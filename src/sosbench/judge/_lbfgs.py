"""Arena-Hard-Auto v2.0's optimiser, step for step: torch's L-BFGS without line search, in numpy.

v2.0's ``fit_pairwise_model`` (``utils/math_utils.py`` at 196f6b8) fits the Bradley-Terry model with
``torch.optim.LBFGS(lr=0.1, max_iter=50, tolerance_grad=1e-9, tolerance_change=1e-9)`` (history 100, no
line search) in float32, every parameter starting at 0.5, and stops after those 50 steps whether or not
it has converged. Its scores are the optimiser's, not the likelihood's optimum: up to about two points of
win rate away on realistic data. To reproduce them this module runs the same algorithm (the two-loop
recursion, a first step of ``min(1, 1/|g|_1) * lr``, fixed steps of ``lr`` after it, the same stopping
tests in the same order) in float32, without torch.

It is the same algorithm, not the same float32 kernels: in float64 it agrees with torch's to 1e-6 points;
in float32 the 50 unconverged steps amplify last-bit differences (a change of 3e-6 in one feature moves
a score by 0.1 point in torch itself), so the agreement is about 0.1-0.2 points (docs/judge.md).

All bootstrap rounds run together: round r minimises ``sum_i weights[r, i] * bce(X_i w, y_i)`` (the
resample's counts as weights, the same loss as v2.0's summed ``bt_loss`` over the resampled rows). A
round's history entry that torch would skip (``y.s <= 1e-10``) is stored as zeros with ``rho = 0``, which
leaves the two-loop recursion unchanged; a round that meets a stopping test is frozen while the others go
on.
"""

from __future__ import annotations

import numpy as np


def _loss_and_gradient(
    X: np.ndarray, y: np.ndarray, weights: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per round: summed binary cross-entropy with logits ``X @ w_r`` (soft targets) and its gradient."""
    z = w @ X.T  # (R, m)
    losses = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
    p = (0.5 * (1.0 + np.tanh(0.5 * z))).astype(X.dtype)  # sigmoid without overflow
    return (weights * losses).sum(axis=1, dtype=X.dtype), (weights * (p - y)) @ X


def lbfgs_fixed_steps(
    X: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray,
    *,
    start: float = 0.5,
    lr: float = 0.1,
    max_iter: int = 50,
    tolerance_grad: float = 1e-9,
    tolerance_change: float = 1e-9,
) -> np.ndarray:
    """The weights (R, d) after ``torch.optim.LBFGS(...).step(closure)`` per row of ``weights`` (R, m).

    Arithmetic in ``X``'s dtype. Torch's history of 100 is never reached within ``max_iter`` <= 100 steps.
    """
    dtype = X.dtype.type
    weights = weights.astype(X.dtype)
    rounds = weights.shape[0]
    w = np.full((rounds, X.shape[1]), start, dtype=X.dtype)
    loss, grad = _loss_and_gradient(X, y, weights, w)
    active = np.abs(grad).max(axis=1) > tolerance_grad
    dirs: list[np.ndarray] = []  # y_k = g_{k+1} - g_k, per round (zeros where skipped)
    steps: list[np.ndarray] = []  # s_k = t d_k
    rho: list[np.ndarray] = []  # 1 / y_k.s_k, 0 where skipped
    h_diag = np.ones(rounds, dtype=X.dtype)
    d = -grad
    t = np.zeros(rounds, dtype=X.dtype)
    prev_grad = grad
    for n_iter in range(1, max_iter + 1):
        if not active.any():
            break
        if n_iter > 1:
            change, step = grad - prev_grad, d * t[:, None]
            ys = np.einsum("rd,rd->r", change, step)
            keep = ys > 1e-10
            dirs.append(np.where(keep[:, None], change, 0).astype(X.dtype))
            steps.append(np.where(keep[:, None], step, 0).astype(X.dtype))
            rho.append(np.where(keep, dtype(1.0) / np.where(keep, ys, 1), 0).astype(X.dtype))
            yy = np.einsum("rd,rd->r", change, change)
            h_diag = np.where(keep, ys / np.where(keep, yy, 1), h_diag).astype(X.dtype)
            q = -grad
            alpha = []
            for i in range(len(dirs) - 1, -1, -1):
                a = np.einsum("rd,rd->r", steps[i], q) * rho[i]
                alpha.append(a)
                q = q - a[:, None] * dirs[i]
            alpha.reverse()
            d_new = q * h_diag[:, None]
            for i in range(len(dirs)):
                beta = np.einsum("rd,rd->r", dirs[i], d_new) * rho[i]
                d_new = d_new + (alpha[i] - beta)[:, None] * steps[i]
            d = np.where(active[:, None], d_new, d)
        prev_grad, prev_loss = grad, loss
        if n_iter == 1:
            first = np.minimum(dtype(1.0), dtype(1.0) / np.abs(grad).sum(axis=1, dtype=X.dtype))
            t = (first * dtype(lr)).astype(X.dtype)
        else:
            t = np.full(rounds, lr, dtype=X.dtype)
        active &= np.einsum("rd,rd->r", grad, d) <= -tolerance_change
        w = np.where(active[:, None], w + t[:, None] * d, w)
        if n_iter == max_iter:
            break
        loss, grad = _loss_and_gradient(X, y, weights, w)
        moved = np.abs(d * t[:, None]).max(axis=1) > tolerance_change
        changed = np.abs(loss.astype(float) - prev_loss.astype(float)) >= tolerance_change
        active &= (np.abs(grad).max(axis=1) > tolerance_grad) & moved & changed
    return w
