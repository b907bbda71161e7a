"""Exact score and Hessian of statsmodels' MixedLM log-likelihood at any parameter point.

statsmodels' parameters are relative to the residual variance: a group's marginal covariance
is ``scale * V`` with ``V = I + Z G Z'`` and ``G`` linear in the *full* parameters ``t`` (the
lower triangle of ``psi = cov_re / scale``, row by row, then ``vcomp / scale``):
``G = sum_j t_j E_j`` with constant symmetric ``E_j``. With ``S = Z'Z`` and
``H = G (I + S G)^-1`` (symmetric, defined for singular ``G``) ``V^-1 = I - Z H Z'``, so

* ``W = Z'V^-1Z = S - S H S``, ``C = Z'V^-1X = (I - S H) Z'X``, ``u = Z'V^-1 r``,
* ``d log det V / dt_j = tr(E_j W)``, ``d^2 log det V / dt_j dt_k = -tr(E_j W E_k W)``,
* ``d qf / dt_j = -u'E_j u``, ``d^2 qf / dt_j dt_k = 2 (E_j u)' W (E_k u)``,
* ``d A / dt_j = -C'E_j C``, ``d^2 A / dt_j dt_k = (E_j C)' W (E_k C) + transpose``,

summed over the groups (``qf = r'V^-1r``, ``A = X'V^-1X``, ``r = y - X fe``). The
log-likelihood with the scale profiled out is
``-log det V / 2 - df log qf / 2 [- log det A / 2]`` plus constants (``df = n - k_fe`` for
REML, ``n`` for ML).

:func:`derivatives` returns its gradient in ``(fe, t)`` (statsmodels' ``score_full``) and
statsmodels' ``hessian``: exact in ``t``, but in the blocks involving the fixed effects
statsmodels leaves out the terms in ``g = X'V^-1 r`` (``2 df g g'/qf^2`` and
``df g (d qf/dt)'/qf^2``), which vanish only where ``fe`` is the GLS estimate. The value
returned is statsmodels' matrix, at any point. :func:`sqrt_jacobian` maps a gradient to the
square-root parameterisation (``use_sqrt``: Cholesky factor of ``psi``, square roots of the
variance components).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mixedmodels.compat._sm_likelihood import GroupStats

__all__ = ["Derivatives", "derivatives", "sqrt_jacobian"]


@dataclass(frozen=True)
class Derivatives:
    """The log-likelihood's derivatives at one point (full parameterisation).

    Attributes
    ----------
    score_fe
        Gradient in the fixed effects, ``(k_fe,)``.
    score_var
        Gradient in the variance parameters (``psi`` lower triangle, then ``vcomp``).
    hessian
        statsmodels' Hessian in ``(fe, psi lower triangle, vcomp)``, or None when not asked.
    """

    score_fe: np.ndarray
    score_var: np.ndarray
    hessian: np.ndarray | None


def _group_basis(k_re: int, k_vc: int, vc_index: np.ndarray) -> np.ndarray:
    """Every ``E_j`` restricted to one group's columns: ``(k_re2 + k_vc, q, q)``."""
    q = k_re + vc_index.size
    rows, cols = np.tril_indices(k_re)
    out = np.zeros((rows.size + k_vc, q, q))
    for j, (a, b) in enumerate(zip(rows, cols, strict=True)):
        out[j, a, b] = out[j, b, a] = 1.0
    extra = k_re + np.arange(vc_index.size)
    out[rows.size + vc_index, extra, extra] = 1.0
    return out


def derivatives(
    stats: GroupStats,
    psi: np.ndarray,
    vcomp: np.ndarray,
    fe: np.ndarray,
    reml: bool,
    hessian: bool = False,
    exact: bool = False,
) -> Derivatives:
    """Gradient (and statsmodels' Hessian) of the log-likelihood at ``(fe, psi, vcomp)``.

    Parameters
    ----------
    stats
        Every group's cross products.
    psi, vcomp
        ``cov_re / scale`` and ``vcomp / scale``.
    fe
        The fixed effects at which the residuals are taken (not profiled here).
    reml
        REML criterion when True, ML otherwise.
    hessian
        Whether to compute the Hessian too.
    exact
        The exact Hessian of the log-likelihood in ``(fe, t)`` instead of statsmodels' matrix
        (they differ only where ``fe`` is not the GLS estimate).
    """
    k_re = stats.k_re
    psi = np.atleast_2d(np.asarray(psi, dtype=float)).reshape(k_re, k_re)
    vcomp = np.asarray(vcomp, dtype=float).ravel()
    fe = np.asarray(fe, dtype=float).ravel()
    p, k_vc = fe.size, vcomp.size
    m = k_re * (k_re + 1) // 2 + k_vc
    df = stats.nobs - p if reml else stats.nobs
    A, c, yvy = stats.xtx.copy(), stats.xty.copy(), stats.yty
    dlogdet, B = np.zeros(m), np.zeros(m)
    dA = np.zeros((m, p, p))
    CEu = np.zeros((m, p))
    d2logdet, D = np.zeros((m, m)), np.zeros((m, m))
    d2A = np.zeros((m, m, p, p))
    for ztz, ztx, zty, vci in zip(stats.ztz, stats.ztx, stats.zty, stats.vc_index, strict=True):
        q = ztz.shape[0]
        if q == 0:
            continue
        g = np.zeros((q, q))
        g[:k_re, :k_re] = psi
        extra = np.arange(k_re, q)
        g[extra, extra] = vcomp[vci]
        h = np.linalg.solve(np.eye(q) + g @ ztz, g)  # (I + G S)^-1 G = G (I + S G)^-1
        h = (h + h.T) / 2
        sh = ztz @ h
        W = ztz - sh @ ztz
        C = ztx - sh @ ztx
        e = zty - sh @ zty
        A -= ztx.T @ h @ ztx
        c -= ztx.T @ h @ zty
        yvy -= float(zty @ h @ zty)
        u = e - C @ fe
        E = _group_basis(k_re, k_vc, vci)
        EW = E @ W
        dlogdet += np.einsum("jaa->j", EW)
        Eu = E @ u
        B += Eu @ u
        EC = E @ C
        dA -= np.einsum("qp,jqr->jpr", C, EC)
        CEu += Eu @ C
        if hessian:
            d2logdet -= np.einsum("jab,kba->jk", EW, EW)
            D += 2 * Eu @ W @ Eu.T
            WEC = W @ EC
            cross = np.einsum("jqp,kqs->jkps", EC, WEC)
            d2A += cross + cross.transpose(0, 1, 3, 2)
    g_fe = c - A @ fe
    qf = float(yvy - 2 * fe @ c + fe @ A @ fe)
    score_fe = df * g_fe / qf
    score_var = -dlogdet / 2 + df * B / (2 * qf)
    Ainv = np.linalg.inv(A) if reml and p else np.zeros((p, p))
    if reml and p:
        score_var -= np.einsum("ps,jsp->j", Ainv, dA) / 2
    if not hessian:
        return Derivatives(score_fe, score_var, None)
    hess_var = -d2logdet / 2 - df * (D / qf - np.outer(B, B) / qf**2) / 2
    if reml and p:
        AdA = np.einsum("ps,jsr->jpr", Ainv, dA)
        hess_var -= (np.einsum("ps,jksp->jk", Ainv, d2A) - np.einsum("jpr,krp->jk", AdA, AdA)) / 2
    out = np.zeros((p + m, p + m))
    out[:p, :p] = -df * A / qf
    out[p:, :p] = -df * CEu / qf
    if exact:  # the terms in g = X'V^-1 r that statsmodels leaves out
        out[:p, :p] += 2 * df * np.outer(g_fe, g_fe) / qf**2
        out[p:, :p] += df * np.outer(B, g_fe) / qf**2
    out[:p, p:] = out[p:, :p].T
    out[p:, p:] = hess_var
    return Derivatives(score_fe, score_var, out)


def sqrt_jacobian(cov_re: np.ndarray, vcomp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``d full / d sqrt`` for the variance parameters, and the square-root point.

    The square-root point is statsmodels' ``get_packed(use_sqrt=True)``: the lower Cholesky
    factor ``L`` of ``cov_re`` (its diagonal's square roots when ``cov_re`` is not positive
    definite) and ``sqrt(vcomp)``. The Jacobian's ``(j, k)`` entry is the derivative of full
    parameter ``j`` (``psi`` lower triangle, ``vcomp``) in square-root parameter ``k``; a
    gradient maps as ``J' grad``.
    """
    cov_re = np.atleast_2d(np.asarray(cov_re, dtype=float))
    k = cov_re.shape[0] if cov_re.size else 0
    vcomp = np.asarray(vcomp, dtype=float).ravel()
    if k:
        try:
            L = np.linalg.cholesky(cov_re)
        except np.linalg.LinAlgError:
            L = np.diag(np.sqrt(np.diag(cov_re)))
    else:
        L = np.zeros((0, 0))
    rows, cols = np.tril_indices(k)
    k2 = rows.size
    J = np.zeros((k2 + vcomp.size, k2 + vcomp.size))
    # psi_ab = sum_d L_ad L_bd: d psi_ab / d L_cd = [a == c] L_bd + [b == c] L_ad
    for j, (a, b) in enumerate(zip(rows, cols, strict=True)):
        for s, (cr, d) in enumerate(zip(rows, cols, strict=True)):
            J[j, s] = (L[b, d] if a == cr else 0.0) + (L[a, d] if b == cr else 0.0)
    root = np.sqrt(vcomp)
    J[k2 + np.arange(vcomp.size), k2 + np.arange(vcomp.size)] = 2 * root
    return J, np.concatenate([L[rows, cols], root])
