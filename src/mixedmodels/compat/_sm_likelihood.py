"""statsmodels' MixedLM log-likelihood at any parameter point, from per-group statistics.

statsmodels' parameters are relative to the residual variance ``scale``: ``psi = cov_re /
scale`` and ``vcomp / scale``, so a group's marginal covariance is ``scale * V`` with
``V = I + Z G Z'``, ``G = blockdiag(psi, diag(vcomp / scale))`` over the group's columns
(``exog_re`` first, then every variance component's columns). With ``M = I + G Z'Z``,

* ``log det V = log det M`` (Sylvester), and
* ``a' V^-1 b = a'b - (Z'a)' M^-1 G (Z'b)`` (Woodbury, any symmetric ``G``),

so only ``Z'Z``, ``Z'X``, ``Z'y``, ``X'X``, ``X'y`` and ``y'y`` of every group are needed
(:class:`GroupStats`). The scale is profiled out; the fixed effects are given or profiled
(their GLS estimate). The value is statsmodels' ``MixedLM.loglike`` (the same constants),
and also where statsmodels inverts a singular ``psi``: the limit is finite here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "GroupStats",
    "Evaluation",
    "evaluate",
    "gls_fe",
    "loglike_value",
    "profile_scale",
]


@dataclass(frozen=True, eq=False)
class GroupStats:
    """Cross products of every group's designs.

    Attributes
    ----------
    ztz, ztx, zty
        Per group ``Z'Z``, ``Z'X``, ``Z'y`` (``Z``: exog_re columns, then vc columns).
    vc_index
        Per group, the variance component of each vc column.
    xtx, xty, yty
        Totals ``X'X``, ``X'y``, ``y'y``.
    k_re, nobs
        Number of exog_re columns, number of rows.
    """

    ztz: tuple[np.ndarray, ...]
    ztx: tuple[np.ndarray, ...]
    zty: tuple[np.ndarray, ...]
    vc_index: tuple[np.ndarray, ...]
    xtx: np.ndarray
    xty: np.ndarray
    yty: float
    k_re: int
    nobs: int

    @classmethod
    def build(
        cls,
        y: np.ndarray,
        X: np.ndarray,
        rows: Sequence[np.ndarray],
        z_groups: Sequence[np.ndarray],
        vc_index: Sequence[np.ndarray],
        k_re: int,
    ) -> GroupStats:
        """From the response, the fixed design and every group's rows and ``Z``."""
        ztz, ztx, zty = [], [], []
        for idx, z in zip(rows, z_groups, strict=True):
            ztz.append(z.T @ z)
            ztx.append(z.T @ X[idx])
            zty.append(z.T @ y[idx])
        return cls(
            tuple(ztz),
            tuple(ztx),
            tuple(zty),
            tuple(np.asarray(v, dtype=np.intp) for v in vc_index),
            X.T @ X,
            X.T @ y,
            float(y @ y),
            int(k_re),
            int(y.size),
        )


@dataclass(frozen=True)
class Evaluation:
    """The ``V^-1`` cross products at one variance point.

    Attributes
    ----------
    logdet
        ``sum_i log det V_i`` (``nan`` where some ``V_i`` is not positive definite).
    xvx, xvy, yvy
        ``X'V^-1X``, ``X'V^-1y``, ``y'V^-1y``.
    """

    logdet: float
    xvx: np.ndarray
    xvy: np.ndarray
    yvy: float


def evaluate(stats: GroupStats, psi: np.ndarray, vcomp: np.ndarray) -> Evaluation:
    """``V^-1`` cross products for relative covariance ``psi`` and variance components."""
    psi = np.atleast_2d(np.asarray(psi, dtype=float)).reshape(stats.k_re, stats.k_re)
    vcomp = np.asarray(vcomp, dtype=float).ravel()
    logdet = 0.0
    xvx, xvy, yvy = stats.xtx.copy(), stats.xty.copy(), stats.yty
    for ztz, ztx, zty, vci in zip(stats.ztz, stats.ztx, stats.zty, stats.vc_index, strict=True):
        q = ztz.shape[0]
        if q == 0:
            continue
        g = np.zeros((q, q))
        g[: stats.k_re, : stats.k_re] = psi
        extra = np.arange(stats.k_re, q)
        g[extra, extra] = vcomp[vci]
        m = np.eye(q) + g @ ztz
        sign, ld = np.linalg.slogdet(m)
        if sign <= 0:
            logdet = np.nan
        logdet += ld
        rhs = np.column_stack([ztx, zty]) if ztx.size else zty[:, None]
        solved = np.linalg.solve(m, g @ rhs)
        cross = rhs.T @ solved
        p = ztx.shape[1]
        xvx -= cross[:p, :p]
        xvy -= cross[:p, p]
        yvy -= float(cross[p, p])
    return Evaluation(float(logdet), xvx, xvy, float(yvy))


def gls_fe(ev: Evaluation, singular: bool = False) -> np.ndarray:
    """GLS fixed effects ``(X'V^-1X)^-1 X'V^-1y`` (pseudo-inverse when ``singular``)."""
    if ev.xvy.size == 0:
        return np.zeros(0)
    if singular:
        return np.linalg.pinv(ev.xvx) @ ev.xvy
    return np.linalg.solve(ev.xvx, ev.xvy)


def _quadratic(ev: Evaluation, fe: np.ndarray) -> float:
    """``(y - X fe)' V^-1 (y - X fe)``."""
    return float(ev.yvy - 2 * fe @ ev.xvy + fe @ ev.xvx @ fe)


def profile_scale(ev: Evaluation, fe: np.ndarray, nobs: int, reml: bool) -> float:
    """statsmodels' ``get_scale``: the quadratic form over ``n - k_fe`` (REML) or ``n``."""
    return _quadratic(ev, fe) / (nobs - fe.size if reml else nobs)


def loglike_value(ev: Evaluation, fe: np.ndarray, nobs: int, reml: bool) -> float:
    """statsmodels' profile log-likelihood (scale profiled out) at ``fe``."""
    qf = _quadratic(ev, fe)
    if not np.isfinite(ev.logdet) or qf <= 0:
        return -np.inf
    df = nobs - fe.size if reml else nobs
    value = -ev.logdet / 2 - df * np.log(qf) / 2
    if reml:
        sign, ld = np.linalg.slogdet(ev.xvx)
        if sign <= 0:
            return -np.inf
        value -= ld / 2
    return float(value - df * np.log(2 * np.pi) / 2 + df * np.log(df) / 2 - df / 2)
