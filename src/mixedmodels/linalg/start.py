"""Starting values for theta from the sufficient statistics (no objective evaluations).

For every column ``j`` of every block (after the internal column transform ``T``, so the
columns are centred and scaled) a one-way random-effects ANOVA on the OLS residuals gives a
moment estimate of ``sigma_b^2 / sigma^2``::

    c_g = sum_{rows of g} z_j^2,   s_g = sum_{rows of g} z_j r,   SSB = sum_g s_g^2 / c_g,
    sigma^2 ~ (RSS - SSB) / (n - p - L),   sigma_b^2 ~ (SSB - L sigma^2) / sum_g c_g,

which ignores the other random effects, yet is close enough to the optimum that BOBYQA needs
far fewer evaluations than from lme4's identity start. Everything comes from ``A``: ``c_g`` from
the diagonal blocks, ``s_g`` from the cross-products with X and y.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from mixedmodels.linalg.statistics import SufficientStats

__all__ = ["moment_start"]

FLOOR = 0.01  # never start on the boundary: BOBYQA then explores both sides


def _ols(stats: SufficientStats) -> tuple[np.ndarray, float]:
    qr, p = stats.q_rest, stats.p
    XX = stats.Arr[qr : qr + p, qr : qr + p]
    Xy = stats.Arr[qr : qr + p, -1]
    beta = stats.ols_beta
    rss = float(stats.Arr[-1, -1] - 2.0 * beta @ Xy + beta @ XX @ beta)
    return beta, rss


def _block_moments(stats: SufficientStats, k: int, beta: np.ndarray):
    """Per level: ``Z_g' Z_g`` (levels, s, s) and ``Z_g' r`` (levels, s) of block ``k``."""
    qr, p = stats.q_rest, stats.p
    shape = stats.shapes[k]
    s, levels = shape.size, shape.n_levels
    if k == 0:
        zz = stats.A11
        Ar1 = stats.Ar1
        rows = slice(qr, stats.m)  # X's rows and y's (m = q_rest + p + 1): a view, no copy
        part = Ar1[rows].toarray() if hasattr(Ar1, "toarray") else Ar1[rows]  # type: ignore[union-attr]
        zx, zy = part[:p], part[p]
        zr = (zy - beta @ zx).reshape(levels, s)
    else:
        offset = sum(sh.n_random_effects for sh in stats.shapes[1:k])
        idx = offset + np.arange(levels * s).reshape(levels, s)
        zz = stats.Arr[idx[:, :, None], idx[:, None, :]]
        zx = stats.Arr[idx.ravel(), qr : qr + p]
        zy = stats.Arr[idx.ravel(), -1]
        zr = (zy - zx @ beta).reshape(levels, s)
    return zz, zr


def _swamy(zz: np.ndarray, zr: np.ndarray, rss: float, n: int, p: int) -> np.ndarray | None:
    """Lower-triangular relative factor from per-level regressions (vector-valued blocks).

    ``b_g = (Z_g'Z_g)^-1 Z_g' r`` has covariance ``Sigma_b + sigma^2 (Z_g'Z_g)^-1``, so
    ``Sigma_b ~ mean(b_g b_g') - sigma^2 mean((Z_g'Z_g)^-1)``. Levels whose ``Z_g'Z_g`` is not
    well conditioned (normalised determinant below 1e-10) are left out. Where that estimate is
    not positive definite (small levels, whose ``(Z_g'Z_g)^-1`` is large, make it noisy) a
    variance below the one-way estimate's (:func:`_one_way`, standard deviations) is raised
    to it, the covariances kept; then it is clipped to be positive definite.
    """
    size = zz.shape[1]
    count, bb, inv_sum, explained = _level_regressions(
        np.ascontiguousarray(zz, dtype=float), np.ascontiguousarray(zr, dtype=float)
    )
    if count <= size:
        return None
    dof = n - p - count * size
    if dof <= 0:
        return None
    sigma2 = (rss - explained) / dof
    if not sigma2 > 0:
        return None
    cov = bb / count / sigma2 - inv_sum / count
    cov = (cov + cov.T) / 2
    if _smallest_eigenvalue(cov) < FLOOR**2 * max(float(np.max(np.diag(cov))), 1.0):
        one_way = _one_way(zz, zr, rss, n, p)
        np.fill_diagonal(cov, np.maximum(np.diag(cov), one_way**2))
    return _clipped_cholesky(cov)


def _smallest_eigenvalue(cov: np.ndarray) -> float:
    """Of a symmetric matrix (2 x 2 in closed form: numpy's wrappers cost more)."""
    if cov.shape[0] == 2:
        a, b, c = float(cov[0, 0]), float(cov[1, 0]), float(cov[1, 1])
        return (a + c) / 2.0 - math.hypot((a - c) / 2.0, b)
    return float(np.linalg.eigvalsh(cov)[0])


def _clipped_cholesky(cov: np.ndarray) -> np.ndarray:
    """Cholesky factor of ``cov`` with its eigenvalues raised to a floor.

    The floor is ``FLOOR^2 * max(1, largest)`` (2 x 2 in closed form: numpy's wrappers cost
    more).
    """
    if cov.shape[0] == 2:
        a, b, c = float(cov[0, 0]), float(cov[1, 0]), float(cov[1, 1])
        mean, radius = (a + c) / 2.0, math.hypot((a - c) / 2.0, b)
        low, high = mean - radius, mean + radius
        floor = FLOOR**2 * max(high, 1.0)
        if low < floor:  # rebuild from the raised eigenvalues
            angle = 0.5 * math.atan2(2.0 * b, a - c)  # of the larger eigenvalue's vector
            cos, sin = math.cos(angle), math.sin(angle)
            low, high = max(low, floor), max(high, floor)
            a = high * cos * cos + low * sin * sin
            b = (high - low) * cos * sin
            c = high * sin * sin + low * cos * cos
        l11 = math.sqrt(a)
        l21 = b / l11
        return np.array([[l11, 0.0], [l21, math.sqrt(max(c - l21 * l21, 0.0))]])
    values, vectors = np.linalg.eigh(cov)
    values = np.maximum(values, FLOOR**2 * max(float(values.max()), 1.0))
    return np.linalg.cholesky((vectors * values) @ vectors.T)


@njit(cache=True)
def _level_regressions(zz, zr):  # pragma: no cover - compiled
    """Sums over the well-conditioned levels of ``b b'``, ``(Z'Z)^-1`` and ``r'Z b``.

    Per level a Cholesky factor of ``Z_g'Z_g``; a level is used when it exists and its
    normalised determinant ``det / prod(diag)`` is above 1e-10. Returns the number of levels
    used and the three sums.
    """
    levels, s, _ = zz.shape
    bb = np.zeros((s, s))
    inv_sum = np.zeros((s, s))
    explained = 0.0
    count = 0
    L = np.empty((s, s))
    Linv = np.empty((s, s))
    inv = np.empty((s, s))
    b = np.empty(s)
    threshold = np.log(1e-10)
    for g in range(levels):
        ok = True
        logdet = 0.0
        for j in range(s):
            d = zz[g, j, j]
            if not d > 0.0:
                ok = False
                break
            logdet -= np.log(d)
        if not ok:
            continue
        for j in range(s):  # Cholesky of Z_g'Z_g
            t = zz[g, j, j]
            for k in range(j):
                t -= L[j, k] * L[j, k]
            if not t > 0.0:
                ok = False
                break
            L[j, j] = np.sqrt(t)
            logdet += np.log(t)
            for i in range(j + 1, s):
                t = zz[g, i, j]
                for k in range(j):
                    t -= L[i, k] * L[j, k]
                L[i, j] = t / L[j, j]
        if not ok or not logdet > threshold:
            continue
        for j in range(s):  # L^-1, lower triangular
            Linv[j, j] = 1.0 / L[j, j]
            for i in range(j + 1, s):
                t = 0.0
                for k in range(j, i):
                    t -= L[i, k] * Linv[k, j]
                Linv[i, j] = t / L[i, i]
            for i in range(j):
                Linv[i, j] = 0.0
        for i in range(s):  # (Z'Z)^-1 = L^-T L^-1
            for j in range(s):
                t = 0.0
                for k in range(max(i, j), s):
                    t += Linv[k, i] * Linv[k, j]
                inv[i, j] = t
        for i in range(s):
            t = 0.0
            for j in range(s):
                t += inv[i, j] * zr[g, j]
            b[i] = t
        for i in range(s):
            explained += zr[g, i] * b[i]
            for j in range(s):
                bb[i, j] += b[i] * b[j]
                inv_sum[i, j] += inv[i, j]
        count += 1
    return count, bb, inv_sum, explained


def moment_start(
    stats: SufficientStats,
    transforms: list[np.ndarray | None],
    unstructured: list[bool] | None = None,
) -> list[np.ndarray]:
    """Starting lambda (of the transformed columns) per block.

    Parameters
    ----------
    stats
        The model's sufficient statistics.
    transforms
        Per block, the column transform ``T`` (transformed columns ``Z T``) or None.

    Returns
    -------
    list of numpy.ndarray
        Per block a lower-triangular starting lambda: diagonal from the one-way moment
        estimates (1 where none is possible), or, for a block with correlated columns
        (``unstructured[k]``), from per-level regressions when those are possible.
    """
    beta, rss = _ols(stats)
    n, p = stats.n, stats.p
    out = []
    for k, T in enumerate(transforms):
        zz, zr = _block_moments(stats, k, beta)
        if T is not None:
            zz = T.T @ zz @ T
            zr = zr @ T
        size = zz.shape[1]
        if unstructured is not None and unstructured[k] and size > 1:
            lam = _swamy(zz, zr, rss, n, p)
            if lam is not None:
                out.append(lam)
                continue
        out.append(np.diag(_one_way(zz, zr, rss, n, p)))
    return out


def cell_start(stats: SufficientStats, k: int, columns: slice, T: np.ndarray | None):
    """Starting relative SDs and correlations of a term of indicator columns (occasions).

    The per-level mean residual of each column (cell) varies with the term's variance plus
    the residual's share, which one-way moments per column cannot separate when the cells
    hold one observation each. Here the residual variance is the pooled within-cell
    variance where cells repeat, else a tenth of the cells' mean square; the relative SD of
    column j is ``sqrt(mean_g m_gj^2 / that)`` (floored at 0.1) on the transformed columns,
    and the correlations are :func:`level_correlation`'s.
    """
    beta, rss = _ols(stats)
    zz, zr = _block_moments(stats, k, beta)
    d = np.einsum("gjj->gj", zz)[:, columns]
    r = zr[:, columns]
    observed = d > 0.5
    m = np.where(observed, r / np.where(observed, d, 1.0), 0.0)
    counts = observed.sum(axis=0)
    mean_square = np.sum(m * m, axis=0) / np.maximum(counts, 1)
    between = float(np.sum(np.where(observed, r * r / np.where(observed, d, 1.0), 0.0)))
    cells = int(observed.sum())
    within_dof = stats.n - stats.p - cells
    pooled = (rss - between) / within_dof if within_dof > 0 else np.nan
    residual = pooled if pooled > 0 else 0.1 * float(np.mean(mean_square))
    sds = np.sqrt(np.maximum(mean_square / residual - 1.0 / np.maximum(d.mean(axis=0), 1.0), 0))
    if T is not None:
        sds = sds / np.abs(np.diag(T)[columns])
    return np.maximum(sds, 0.1), level_correlation(stats, k, columns)


def level_correlation(stats: SufficientStats, k: int, columns: slice) -> np.ndarray:
    """Correlations of the OLS residuals' per-level means between columns of block ``k``.

    Per level and column the mean residual ``m_gj = (Z_g' r)_j / (Z_g' Z_g)_jj`` (for the
    indicator columns of ``ar1(0 + time | g)``: the level's mean residual at that occasion);
    between two columns their uncentred correlation over the levels where both are observed
    (0 with fewer than three such levels). A starting value for the correlation parameters
    of ``cs``, ``ar1`` and ``toep`` (the residual variance in the means damps it a little).
    """
    beta, _ = _ols(stats)
    zz, zr = _block_moments(stats, k, beta)
    d = np.einsum("gjj->gj", zz)[:, columns]
    r = zr[:, columns]
    observed = d > 1e-12 * max(float(d.max()), 1e-300)
    m = np.where(observed, r / np.where(observed, d, 1.0), 0.0)
    both = observed.T.astype(float) @ observed.astype(float)
    cross = m.T @ m
    squares = (m * m).T @ observed.astype(float)  # sum of m_j^2 where l is observed too
    with np.errstate(invalid="ignore", divide="ignore"):
        out = cross / np.sqrt(squares * squares.T)
    out = np.where((both >= 3) & np.isfinite(out), out, 0.0)
    np.fill_diagonal(out, 1.0)
    return out


def _one_way(zz: np.ndarray, zr: np.ndarray, rss: float, n: int, p: int) -> np.ndarray:
    """Per column the one-way ANOVA estimate of ``sigma_b / sigma``.

    1 where none is possible, at least :data:`FLOOR`.
    """
    size = zz.shape[1]
    diag = np.ones(size)
    for j in range(size):
        c = zz[:, j, j]
        used = c > 1e-12 * max(float(c.max()), 1e-300)
        levels = int(used.sum())
        dof = n - p - levels
        if levels < 2 or dof <= 0:
            continue
        ssb = float(np.sum(zr[used, j] ** 2 / c[used]))
        sigma2 = (rss - ssb) / dof
        if not sigma2 > 0:
            continue
        ratio = (ssb - levels * sigma2) / float(np.sum(c[used])) / sigma2
        diag[j] = max(float(np.sqrt(max(ratio, 0.0))), FLOOR)
    return diag
