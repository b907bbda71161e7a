"""One evaluation of the profiled objective: the blocked Cholesky factor of Lambda'A Lambda + I.

With the first block's lambda ``lam1`` and per-level ``M_g = lam1' A11_g lam1 + I`` the factor is::

    L = [ L11   0   ]      L11_g = chol(M_g)                       (batched, p1 x p1)
        [ Lr1  Lrr  ]      Lr1   = Lr' Ar1 Lam1 L11^-T             (only needed after the fit)
                           Lrr   = chol(Lr' (Arr - Ar1 W Ar1') Lr + I_z),  W_g = lam1 M_g^-1 lam1'

where ``Lr`` is the rest's Lambda (identity on the X and y rows) and ``I_z`` the identity on the
rest's random effects. The Schur complement is formed from ``W`` directly, so ``Lr1`` is not
built during optimisation. The cost depends on the numbers of levels, never on n.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mixedmodels.linalg.statistics import SufficientStats
from mixedmodels.linalg.workspace import Workspace

__all__ = [
    "BlockedFactor",
    "update_factor",
    "profiled_objective",
    "evaluate_objective",
    "objective_from_parts",
    "apply_rest_lambda",
]

LOG_2PI = float(np.log(2.0 * np.pi))


@dataclass(frozen=True, eq=False)
class BlockedFactor:
    """The Cholesky factor pieces for one theta.

    Attributes
    ----------
    L11
        ``(l1, p1, p1)`` lower Cholesky factors of the first block's per-level matrices.
    Lrr
        ``(m, m)`` lower Cholesky factor of the rest's Schur complement; its last diagonal
        entry is r, the square root of the penalised residual sum of squares.
    """

    L11: np.ndarray
    Lrr: np.ndarray

    @property
    def r2(self) -> float:
        """Penalised residual sum of squares."""
        return float(self.Lrr[-1, -1] ** 2)


def apply_rest_lambda(
    S: np.ndarray, stats: SufficientStats, rest_lambdas: list[np.ndarray], *, side: str = "both"
) -> np.ndarray:
    """Return ``Lr' S Lr`` (side="both") or ``Lr' S`` (side="left") for the rest's Lambda.

    ``Lr`` is block diagonal: ``kron(I_l, lam_i)`` for every block after the first, then the
    identity on the X and y rows.
    """
    S = np.array(S, dtype=float, copy=True)
    offset = 0
    for shape, lam in zip(stats.shapes[1:], rest_lambdas, strict=True):
        q = shape.n_random_effects
        sl = slice(offset, offset + q)
        if shape.size == 1:
            S[sl, :] *= lam[0, 0]
            if side == "both":
                S[:, sl] *= lam[0, 0]
        else:
            cols = S.shape[1]
            rows_view = S[sl, :].reshape(shape.n_levels, shape.size, cols)
            S[sl, :] = np.einsum("ba,lbm->lam", lam, rows_view).reshape(q, cols)
            if side == "both":
                cols_view = S[:, sl].reshape(S.shape[0], shape.n_levels, shape.size)
                S[:, sl] = np.einsum("mlb,ba->mla", cols_view, lam).reshape(S.shape[0], q)
        offset += q
    return S


def update_factor(
    workspace: Workspace, first_lambda: np.ndarray, rest_lambdas: list[np.ndarray]
) -> BlockedFactor:
    """Blocked Cholesky factor of ``Lambda' A Lambda + I`` for the given lambdas.

    ``workspace`` is the engine built from the statistics (``Workspace(stats)``, or the
    model's ``LinearMixedModel.workspace``). The lambdas need not be triangular: the factor
    depends on them only through ``lambda lambda'`` up to an orthogonal change of the random
    effects, and the objective not at all.

    Raises
    ------
    numpy.linalg.LinAlgError
        When the rest's matrix is not positive definite (only with non-finite input or an
        X that is numerically rank deficient).
    """
    stats = workspace.stats
    first_lambda, rest_lambdas = stats.engine_lambdas(first_lambda, rest_lambdas)
    if workspace.evaluate(first_lambda, rest_lambdas, conditioned=True, dense=True) is None:
        raise np.linalg.LinAlgError("the Schur complement is not positive definite")
    L11, Lrr = workspace.current_factor()
    # factored for the response y - X b0 (accurate r); the factor of A itself differs only
    # in its last row: L = T'^-1 L_t adds b0' times the X rows to the response row; and the
    # columns summed may be centred ones (stats.conditioning): their rows made the model's
    qr, p = stats.q_rest, stats.p
    if stats.conditioning is None:
        Lrr[-1, :-1] += workspace.b0 @ Lrr[qr : qr + p, :-1]
    else:
        stats.conditioning.plain_rows(Lrr, qr, p, workspace.b0)
    return BlockedFactor(L11=L11, Lrr=Lrr)


def evaluate_objective(
    workspace: Workspace,
    first_lambda: np.ndarray,
    rest_lambdas: list[np.ndarray],
    reml: bool,
) -> float:
    """The objective at the given lambdas without building a :class:`BlockedFactor`.

    Same value as ``profiled_objective(update_factor(workspace, ...), workspace.stats,
    reml)``; ``inf`` where the factorisation fails.
    """
    stats = workspace.stats
    first_lambda, rest_lambdas = stats.engine_lambdas(first_lambda, rest_lambdas)
    ev = workspace.evaluate(first_lambda, rest_lambdas, conditioned=True)
    if ev is None:
        return np.inf
    return objective_from_parts(ev.logdet_z, ev.logdet_x, ev.r2, stats, reml)


def objective_from_parts(
    logdet_z: float, logdet_x: float, r2: float, stats: SufficientStats, reml: bool
) -> float:
    """ML deviance or REML criterion from ``log|L_Z|^2``, ``log|R_X|^2`` and ``r^2``."""
    if not (r2 > 0.0 and math.isfinite(r2)):
        return np.inf
    if reml:
        dof = stats.n - stats.p
        value = logdet_z + logdet_x + dof * (1.0 + LOG_2PI + math.log(r2 / dof))
    else:
        value = logdet_z + stats.n * (1.0 + LOG_2PI + math.log(r2 / stats.n))
    return float(value - stats.sum_log_weights)


def log_determinants(factor: BlockedFactor, stats: SufficientStats) -> tuple[float, float]:
    """``log|L_Z|^2`` and ``log|R_X|^2``."""
    size1 = factor.L11.shape[1]
    diag1 = factor.L11[:, np.arange(size1), np.arange(size1)]
    diag_r = np.diag(factor.Lrr)
    qr = stats.q_rest
    logdet_z = 2.0 * (np.sum(np.log(diag1)) + np.sum(np.log(diag_r[:qr])))
    logdet_x = 2.0 * float(np.sum(np.log(diag_r[qr : qr + stats.p])))
    return float(logdet_z), logdet_x


def profiled_objective(factor: BlockedFactor, stats: SufficientStats, reml: bool) -> float:
    """ML deviance or REML criterion (lme4's ``deviance()`` / ``REMLcrit()``)."""
    logdet_z, logdet_x = log_determinants(factor, stats)
    return objective_from_parts(logdet_z, logdet_x, factor.r2, stats, reml)


def objective_parts(
    workspace: Workspace, first_lambda: np.ndarray, rest_lambdas: list[np.ndarray]
) -> tuple[float, float, float] | None:
    """``log|L_Z|^2``, ``log|R_X|^2`` and ``r^2`` at the given lambdas; None where it fails.

    For criteria other than the profiled ones (the likelihood profile's deviance at a given
    sigma), at the cost of :func:`evaluate_objective`.
    """
    first_lambda, rest_lambdas = workspace.stats.engine_lambdas(first_lambda, rest_lambdas)
    ev = workspace.evaluate(first_lambda, rest_lambdas, conditioned=True)
    return None if ev is None else (ev.logdet_z, ev.logdet_x, ev.r2)
