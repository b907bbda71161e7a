"""The boundary sigma -> 0: a covariance structure that absorbs the residual.

Theta is relative to sigma, so a fit whose residual variance goes to zero (a heterogeneous
``cs`` or ``toep`` over occasions with one observation each: the occasions' own variances take
the residual's place, what glmmTMB fits with ``dispformula = ~0``) has its optimum at theta
-> infinity along the ray that scales every standard deviation. BOBYQA walks there slowly, so
after its first stop the ray is probed (each step three times further while the objective
falls) and BOBYQA restarted from the best point. Along the ray the engine's Schur
complements lose digits like ``t^4``; for one grouping factor the criterion and the final
solve there come from each group's marginal covariance instead (:class:`GroupedGLS`), exact
until the engine's factor itself fails (relative standard deviations of about 1e5 for Sitka's
``cs``, a few thousand for ``(1 | tree) + ar1``); with several grouping factors the engine's
criterion is used throughout and its precision limits the walk. Such a fit is reported as a
boundary fit, and the convergence check leaves the ray's direction out, as it leaves out
components resting on a bound. :func:`reopened_start` gives a fit that stopped at a saddle a
second start.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

__all__ = ["RESIDUAL_BOUNDARY", "RayProbe", "newton_refine", "reopened_start", "scale_mask"]

RESIDUAL_BOUNDARY = 30.0
"""After the ray lowered the objective: a standard deviation (of internally scaled columns)
this many times sigma is the boundary sigma -> 0 (the residual variance below 1/900 of it)."""

PROBE_FROM = 1.0
"""The ray is probed only when some relative standard deviation is already this large."""

_STEP = 3.0
_MAX_STEPS = 12


def scale_mask(terms, n_theta: int) -> np.ndarray:
    """Theta entries that scale with the random-effect standard deviations.

    Every entry of an unstructured term (lambda scales as a whole), the standard deviations of
    a structured term (its correlation parameters do not scale).
    """
    mask = np.zeros(n_theta, dtype=bool)
    for term in terms:
        if term.structured:
            mask[term.theta_slice] = term.covariance.sd_columns() >= 0
        else:
            mask[term.theta_slice] = True
    return mask


def reopened_start(x: np.ndarray, x0: np.ndarray, mask: np.ndarray) -> np.ndarray | None:
    """``x`` with every standard deviation that fell below half its start put back there.

    For a fit of structured terms that the convergence check finds short of an optimum (a
    saddle where one variance collapsed while another structure took its part, as
    ``(1 | Litter) + ar1(0 + C(Time) | Pig)`` on dietox): BOBYQA runs once more from here.
    None when no standard deviation fell that far.
    """
    low = mask & (np.abs(x) < 0.5 * np.abs(x0))
    return np.where(low, x0, x) if low.any() else None


class RayProbe:
    """The ray toward sigma -> 0 of one fit: probe it, and say whether the fit ended there.

    Parameters
    ----------
    terms, n_theta
        The model's terms and number of theta entries.
    objective
        The optimiser's objective (theta of the internally scaled columns).
    restart
        ``restart(x) -> (x, fmin, evaluations, status)``: BOBYQA from ``x``.
    """

    def __init__(
        self,
        terms,
        n_theta: int,
        objective: Callable[[np.ndarray], float],
        restart: Callable[[np.ndarray], tuple[np.ndarray, float, int, str]],
    ) -> None:
        self.mask = scale_mask(terms, n_theta)
        self.objective = objective
        self.restart = restart
        self.moved = False

    def __call__(self, x: np.ndarray, fmin: float) -> tuple[np.ndarray, float, int, str | None]:
        """Walk along ``x * t`` (the masked entries) while the objective falls; restart there.

        Returns the point, its objective, the evaluations used and the restart's status (None
        when the ray gave nothing).
        """
        mask = self.mask
        if not mask.any() or np.max(np.abs(x[mask])) < PROBE_FROM:
            return x, fmin, 0, None
        best, best_value, used = x, fmin, 0
        t = 1.0
        for _ in range(_MAX_STEPS):
            t *= _STEP
            trial = np.where(mask, x * t, x)
            value = self.objective(trial)
            used += 1
            if not value < best_value - 1e-7:
                break
            best, best_value = trial, value
        if best is x:
            return x, fmin, used, None
        self.moved = True
        moved, value, more, status = self.restart(best)
        if value < best_value:
            best, best_value = moved, value
        return best, best_value, used + more, status

    def along(self, x: np.ndarray) -> np.ndarray | None:
        """The ray's direction at ``x`` if the fit ended at sigma -> 0, else None."""
        mask = self.mask
        if self.moved and mask.any() and np.max(np.abs(x[mask])) > RESIDUAL_BOUNDARY:
            return np.where(mask, x, 0.0)
        return None


def newton_refine(
    objective: Callable[[np.ndarray], float],
    x: np.ndarray,
    fmin: float,
    check: Callable[[np.ndarray, float], tuple[tuple[str, ...], np.ndarray | None]],
    lower: np.ndarray,
    upper: np.ndarray | None,
    max_steps: int = 8,
) -> tuple[np.ndarray, float, tuple[str, ...], np.ndarray | None]:
    """Newton steps from the convergence check's derivatives until the check passes.

    For structured covariances, whose correlation parameters near +-1 leave BOBYQA crawling
    along a badly scaled valley: while the check reports a large relative gradient with a
    positive-definite Hessian, its Newton step (halved up to three times, kept in the
    bounds) is taken when it lowers the objective. ``check(x, fmin)`` returns the messages
    and the step of :func:`mixedmodels.convergence.check_convergence`.

    Returns the point, its objective, the last check's messages and step.
    """
    messages, step = check(x, fmin)
    for _ in range(max_steps):
        if not messages or step is None or not np.all(np.isfinite(step)):
            break
        for damping in (1.0, 0.5, 0.25, 0.125):
            trial = np.maximum(x + damping * step, lower)
            if upper is not None:
                trial = np.minimum(trial, upper)
            value = objective(trial)
            if value < fmin:
                x, fmin = trial, value
                break
        else:
            break
        messages, step = check(x, fmin)
    return x, fmin, messages, step


GLS_FROM = RESIDUAL_BOUNDARY
"""Beyond this relative standard deviation (of internally scaled columns) the criterion of a
one-factor model is taken from :class:`GroupedGLS`: the engine's Schur complements lose
digits like ``t^4`` along the ray (a criterion 5 too low at t = 3000 on Sitka's
``(1 | tree) + ar1(...)`` by ML), the per-group marginal covariances do not."""

_LOG_2PI = float(np.log(2.0 * np.pi))


class GroupedGLS:
    """The profiled criterion from each group's marginal covariance, for the ray to sigma -> 0.

    One grouping factor (one block): ``V_i = I + Z_i lambda lambda' Z_i'`` per level, its
    Cholesky factor, generalised least squares for beta and the residual ``r^2 = sum e_i'
    V_i^-1 e_i`` from the whitened residuals, so nothing cancels against ``y'y``. Levels of
    equal size are factored together (numpy's batched Cholesky).

    Parameters
    ----------
    codes, matrix
        The block's level of each row and its model matrix (the columns lambda acts on).
    X, y
        The fixed-effects matrix and the working response (offset removed).
    """

    def __init__(self, codes: np.ndarray, matrix: np.ndarray, X: np.ndarray, y: np.ndarray):
        order = np.argsort(codes, kind="stable")
        counts = np.bincount(codes)
        starts = np.r_[0, np.cumsum(counts)[:-1]]
        self.n, self.p = X.shape
        self.sizes, self.levels = [], []
        for m in np.unique(counts[counts > 0]):
            levels = np.flatnonzero(counts == m)
            rows = order[starts[levels][:, None] + np.arange(m)[None, :]]
            self.sizes.append((matrix[rows], np.concatenate([X[rows], y[rows][..., None]], -1)))
            self.levels.append(levels)
        self.n_levels = counts.size

    def __call__(self, lam: np.ndarray, REML: bool) -> float:
        """The REML criterion or ML deviance at the block's lambda (inf where V fails)."""
        p = self.p
        logdet_v = 0.0
        cross = np.zeros((p + 1, p + 1))
        whitened = []
        for Z, Xy in self.sizes:
            Zl = Z @ lam
            V = Zl @ np.swapaxes(Zl, 1, 2)
            V[:, np.arange(V.shape[1]), np.arange(V.shape[1])] += 1.0
            try:
                L = np.linalg.cholesky(V)
            except np.linalg.LinAlgError:
                return np.inf
            logdet_v += 2.0 * float(np.sum(np.log(np.diagonal(L, axis1=1, axis2=2))))
            W = np.linalg.solve(L, Xy)  # L^-1 [X_i y_i]
            whitened.append(W)
            cross += np.einsum("gmi,gmj->ij", W, W)
        try:
            R = np.linalg.cholesky(cross[:p, :p])
        except np.linalg.LinAlgError:
            return np.inf
        beta = np.linalg.solve(R.T, np.linalg.solve(R, cross[:p, p]))
        r2 = sum(float(np.sum(np.square(W[..., p] - W[..., :p] @ beta))) for W in whitened)
        if not r2 > 0.0:
            return np.inf
        dof = self.n - p if REML else self.n
        value = logdet_v + dof * (1.0 + _LOG_2PI + np.log(r2 / dof))
        if REML:
            value += 2.0 * float(np.sum(np.log(np.diag(R))))
        return float(value)

    def refine(self, solution, lam: np.ndarray):
        """``solution`` with beta, its unscaled covariance and u from the per-group GLS.

        At the boundary the engine's solve inherits the Schur complements' rounding (fixed
        effects 2e-4 from glmmTMB's on Sitka's ``cs`` by ML, against 4e-7 from here).
        """
        p = self.p
        cross = np.zeros((p + 1, p + 1))
        factors = []
        for Z, Xy in self.sizes:
            Zl = Z @ lam
            V = Zl @ np.swapaxes(Zl, 1, 2)
            V[:, np.arange(V.shape[1]), np.arange(V.shape[1])] += 1.0
            try:
                L = np.linalg.cholesky(V)
            except np.linalg.LinAlgError:
                return solution
            W = np.linalg.solve(L, Xy)
            cross += np.einsum("gmi,gmj->ij", W, W)
            factors.append((Zl, L, W))
        try:
            R = np.linalg.cholesky(cross[:p, :p])
        except np.linalg.LinAlgError:
            return solution
        beta = np.linalg.solve(R.T, np.linalg.solve(R, cross[:p, p]))
        u = np.zeros((self.n_levels, lam.shape[1]))
        for (Zl, L, W), levels in zip(factors, self.levels, strict=True):
            whitened = W[..., p] - W[..., :p] @ beta  # L^-1 e per level
            v_inv_e = np.linalg.solve(np.swapaxes(L, 1, 2), whitened[..., None])[..., 0]
            u[levels] = np.einsum("gmk,gm->gk", Zl, v_inv_e)  # lambda' Z_i' V_i^-1 e_i
        R_inv = np.linalg.inv(R)
        return replace(solution, beta=beta, u=(u,), beta_cov_unscaled=R_inv.T @ R_inv)
