"""Compiled lambdas of the correlated structures (numba): one call per objective evaluation.

Each kernel writes the lower-triangular factor into ``out`` (``k x k``, C order), the same
numbers as the numpy formulas of :mod:`mixedmodels.covariance.correlated` (checked in the
tests), without the temporaries that cost those tens of microseconds per evaluation.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["ar1_factor", "cs_factor_into", "toeplitz_factor"]


@njit(cache=True, nogil=True)
def ar1_factor(sd, rho, out):  # pragma: no cover - compiled
    """``out[i, j] = sd rho^(i - j)``, times ``sqrt(1 - rho^2)`` for ``j > 0``; 0 above."""
    k = out.shape[0]
    c = np.sqrt(max(1.0 - rho * rho, 0.0))
    for j in range(k):
        for i in range(j):
            out[i, j] = 0.0
        value = sd if j == 0 else sd * c
        for i in range(j, k):
            out[i, j] = value
            value *= rho


@njit(cache=True, nogil=True)
def cs_factor_into(sds, rho, out):  # pragma: no cover - compiled
    """``diag(sds)`` times the factor of the compound-symmetric correlation matrix.

    ``sds`` of length 1 is one standard deviation for every column (homcs).
    """
    k = out.shape[0]
    c = 1.0 - rho
    for j in range(k):
        if c <= 0.0:  # rho = 1: every column the first
            d, below = (1.0, 1.0) if j == 0 else (0.0, 0.0)
        else:
            b = rho * c / (c + j * rho)
            d = np.sqrt(max(c + b, 0.0))
            below = b / d if d > 0.0 else 0.0
        for i in range(j):
            out[i, j] = 0.0
        out[j, j] = d
        for i in range(j + 1, k):
            out[i, j] = below
    for i in range(k):
        s = sds[0] if sds.shape[0] == 1 else sds[i]
        for j in range(i + 1):
            out[i, j] *= s


@njit(cache=True, nogil=True)
def toeplitz_factor(sds, pacf, out):  # pragma: no cover - compiled
    """``diag(sds)`` times the Cholesky factor of a Toeplitz correlation matrix.

    Its lag correlations follow from the partial autocorrelations by Durbin-Levinson (a pivot
    at or below 1e-14 gives a zero column, as for a positive semi-definite matrix).
    """
    k = out.shape[0]
    acf = np.empty(k)
    acf[0] = 1.0
    coef = np.zeros(k)
    new = np.zeros(k)
    variance = 1.0
    for m in range(k - 1):
        phi = pacf[m]
        predicted = 0.0
        for j in range(m):
            predicted += coef[j] * acf[m - j]
        acf[m + 1] = predicted + phi * variance
        for j in range(m):
            new[j] = coef[j] - phi * coef[m - 1 - j]
        for j in range(m):
            coef[j] = new[j]
        coef[m] = phi
        variance *= 1.0 - phi * phi
    for j in range(k):
        for i in range(j):
            out[i, j] = 0.0
        pivot = 1.0
        for t in range(j):
            pivot -= out[j, t] * out[j, t]
        if not pivot > 1e-14:
            for i in range(j, k):
                out[i, j] = 0.0
            continue
        d = np.sqrt(pivot)
        out[j, j] = d
        for i in range(j + 1, k):
            value = acf[i - j]
            for t in range(j):
                value -= out[i, t] * out[j, t]
            out[i, j] = value / d
    for i in range(k):
        for j in range(i + 1):
            out[i, j] *= sds[i]
