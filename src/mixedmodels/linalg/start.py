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

import numpy as np

from mixedmodels.linalg.statistics import SufficientStats

__all__ = ["moment_start"]

FLOOR = 0.01  # never start on the boundary: BOBYQA then explores both sides


def _ols(stats: SufficientStats) -> tuple[np.ndarray, float]:
    qr, p = stats.q_rest, stats.p
    XX = stats.Arr[qr : qr + p, qr : qr + p]
    Xy = stats.Arr[qr : qr + p, -1]
    beta = np.linalg.lstsq(XX, Xy, rcond=None)[0]
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
        rows = np.r_[qr : qr + p, stats.m - 1]
        part = Ar1[rows].toarray() if hasattr(Ar1, "toarray") else Ar1[rows]
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
    ``Sigma_b ~ mean(b_g b_g') - sigma^2 mean((Z_g'Z_g)^-1)``, clipped to be positive definite.
    """
    size = zz.shape[1]
    # usable levels: Z_g'Z_g well conditioned, judged by its normalised determinant
    diag = np.einsum("laa->la", zz)
    with np.errstate(divide="ignore", invalid="ignore"):
        sign, logdet = np.linalg.slogdet(zz)
        ok = (sign > 0) & np.all(diag > 0, axis=1)
        ok[ok] = logdet[ok] - np.log(diag[ok]).sum(axis=1) > np.log(1e-10)
    idx = np.flatnonzero(ok)
    if idx.size <= size:
        return None
    inv = np.linalg.inv(zz[idx])
    b = np.einsum("lab,lb->la", inv, zr[idx])
    dof = n - p - idx.size * size
    if dof <= 0:
        return None
    sigma2 = (rss - float(np.einsum("la,la->", zr[idx], b))) / dof
    if not sigma2 > 0:
        return None
    cov = (b.T @ b) / idx.size / sigma2 - inv.mean(axis=0)
    values, vectors = np.linalg.eigh((cov + cov.T) / 2)
    values = np.maximum(values, FLOOR**2 * max(float(values.max()), 1.0))
    cov = (vectors * values) @ vectors.T
    return np.linalg.cholesky(cov)


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
            zz = np.einsum("ba,lbc,cd->lad", T, zz, T)
            zr = zr @ T
        size = zz.shape[1]
        if unstructured is not None and unstructured[k] and size > 1:
            lam = _swamy(zz, zr, rss, n, p)
            if lam is not None:
                out.append(lam)
                continue
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
        out.append(np.diag(diag))
    return out
