"""Central rectangle probabilities of the multivariate t (and normal): emmeans' ``mvt``.

``coverage(c, corr, df) = P(|T_j| < c_j for every j)`` for ``T`` multivariate t with ``df``
degrees of freedom (``inf``: normal) and correlation ``corr``, which may be singular (the
contrasts of pairwise comparisons are). Spherical-radial integration (Genz & Bretz 2009, ch. 4):
write ``T = A R U / s`` with ``A A' = corr`` (``A`` of the rank ``r`` of ``corr``), ``U`` uniform
on the unit sphere of dimension ``r``, ``R^2 ~ chi^2_r`` and ``s^2 ~ chi^2_df / df``. Given the
direction ``U`` the event is ``R / s < rho(U) = min_j c_j / |a_j' U|``, whose probability is a
chi-square (normal) or F (t) distribution function of ``rho^2``; only the direction is
integrated, by 2^15 scrambled Sobol points (a smooth integrand: errors about 1e-5, 4e-5 for
unequal bounds, far below mvtnorm's default ``abseps = 1e-3`` that emmeans uses).

The points are fixed (seeded), so p-values are reproducible and the quantile of
:func:`quantile` is the root of a smooth deterministic function.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats
from scipy.stats import qmc

__all__ = ["Rectangle", "coverage", "quantile", "emmeans_df"]

POINTS = 2**15
SEED = 20_261_202


def _factor(corr: np.ndarray) -> np.ndarray:
    corr = np.atleast_2d(np.asarray(corr, dtype=float))
    values, vectors = np.linalg.eigh(0.5 * (corr + corr.T))
    keep = values > 1e-10 * max(float(values.max()), 1e-300)
    return vectors[:, keep] * np.sqrt(values[keep])


def _directions(r: int) -> np.ndarray:
    sobol = qmc.Sobol(r, scramble=True, seed=SEED).random(POINTS)
    z = stats.norm.ppf(np.clip(sobol, 1e-12, 1 - 1e-12))
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def _radial_cdf(rho2: np.ndarray, r: int, df: float) -> np.ndarray:
    if np.isinf(df):
        return stats.chi2.cdf(rho2, r)
    return stats.f.cdf(rho2 / r, r, df)


class Rectangle:
    """The central rectangle probabilities of one correlation matrix (directions computed once).

    Parameters
    ----------
    corr
        Correlation matrix ``(m, m)``, possibly singular.
    """

    def __init__(self, corr: np.ndarray) -> None:
        A = _factor(corr)
        self.rank = A.shape[1]
        self.reach = np.abs(_directions(self.rank) @ A.T)  # |a_j' U|, directions x coordinates
        self._worst = np.max(self.reach, axis=1)

    def coverage(self, c, df: float) -> float:
        """``P(|T_j| < c_j, all j)``; ``c`` a scalar or one bound per coordinate."""
        if np.ndim(c) == 0:
            rho = float(c) / self._worst
        else:
            c = np.broadcast_to(np.asarray(c, dtype=float), (self.reach.shape[1],))
            with np.errstate(divide="ignore"):
                rho = np.min(c[None, :] / self.reach, axis=1)
        return float(np.mean(_radial_cdf(rho * rho, self.rank, df)))

    def quantile(self, level: float, df: float) -> float:
        """The ``c`` with ``coverage(c, df) = level`` (mvtnorm's ``qmvt``, both tails)."""
        m = self.reach.shape[1]
        upper = float(stats.t.ppf(1.0 - (1.0 - level) / (2.0 * m), df))  # Bonferroni's bound
        lower = float(stats.t.ppf(1.0 - (1.0 - level) / 2.0, df))
        return float(
            optimize.brentq(
                lambda c: self.coverage(c, df) - level, 0.5 * lower, 1.5 * upper + 1.0, xtol=1e-12
            )
        )


def coverage(c, corr: np.ndarray, df: float) -> float:
    """``P(|T_j| < c_j, all j)`` for ``T`` multivariate t (``df = inf``: normal)."""
    return Rectangle(corr).coverage(c, df)


def quantile(level: float, corr: np.ndarray, df: float) -> float:
    """The equal bound ``c`` whose :func:`coverage` is ``level``."""
    return Rectangle(corr).quantile(level, df)


def emmeans_df(df: float) -> float:
    """The df emmeans passes to mvtnorm: ``floor(max(1, df) + 0.25)``.

    Infinite (normal) for ``inf`` or above 9999 (emmeans' ``.fix.df``).
    """
    if not np.isfinite(df) or df > 9999:
        return np.inf
    return float(np.floor(max(1.0, df) + 0.25))
