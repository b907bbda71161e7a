"""Moment starting values: close to the truth on large simulated layouts, always valid."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

try:
    import mixedmodels  # noqa: F401
except ImportError:  # not installed: run from the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from mixedmodels.linalg import compute_statistics  # noqa: E402
from mixedmodels.linalg.start import FLOOR, moment_start  # noqa: E402


def _one_way(rng, levels, per_level, sd_b, sd_e, size=1, cov=None):
    n = levels * per_level
    codes = np.repeat(np.arange(levels), per_level)
    matrix = np.column_stack([np.ones(n)] + [rng.normal(size=n) for _ in range(size - 1)])
    if cov is None:
        b = rng.normal(0, sd_b, (levels, size))
    else:
        b = rng.multivariate_normal(np.zeros(size), cov, levels)
    X = np.column_stack([np.ones(n), rng.normal(size=n)])
    y = X @ [2.0, -1.0] + np.einsum("na,na->n", matrix, b[codes]) + rng.normal(0, sd_e, n)
    return compute_statistics([(codes, matrix, levels)], X, y)


def test_scalar_ratio_recovered():
    rng = np.random.default_rng(3)
    stats = _one_way(rng, levels=400, per_level=20, sd_b=1.5, sd_e=1.0)
    (lam,) = moment_start(stats, [None])
    assert lam.shape == (1, 1)
    assert lam[0, 0] == pytest.approx(1.5, rel=0.15)


def test_transform_rescales_the_estimate():
    rng = np.random.default_rng(4)
    stats = _one_way(rng, levels=300, per_level=10, sd_b=0.8, sd_e=1.0)
    (plain,) = moment_start(stats, [None])
    (scaled,) = moment_start(stats, [np.array([[0.5]])])  # columns Z/2: lambda doubles
    assert scaled[0, 0] == pytest.approx(2 * plain[0, 0], rel=1e-12)


def test_correlated_block_from_per_level_regressions():
    rng = np.random.default_rng(5)
    cov = np.array([[1.0, 0.4], [0.4, 0.5]])
    stats = _one_way(rng, levels=500, per_level=12, sd_b=None, sd_e=1.0, size=2, cov=cov)
    (lam,) = moment_start(stats, [None], unstructured=[True])
    assert np.allclose(lam, np.tril(lam))
    np.testing.assert_allclose(lam @ lam.T, cov, atol=0.15)


def test_no_variance_gives_the_floor_not_zero():
    rng = np.random.default_rng(6)
    stats = _one_way(rng, levels=50, per_level=10, sd_b=0.0, sd_e=1.0, size=2)
    (diag,) = moment_start(stats, [None], unstructured=[False])
    assert np.all(np.diag(diag) >= FLOOR)
    assert np.all(np.diag(diag) < 0.3)


def test_two_by_two_clipped_cholesky_equals_the_eigen_route():
    from mixedmodels.linalg import start

    rng = np.random.default_rng(0)
    for k in range(3000):
        a = rng.normal(size=(2, 2)) * rng.choice([1e-3, 1.0, 1e3])
        cov = a @ a.T
        if k % 3 == 0:  # indefinite: the small eigenvalue is raised to the floor
            cov -= np.eye(2) * rng.uniform(0.0, 2.0) * np.abs(cov).max()
        values, vectors = np.linalg.eigh(cov)
        values = np.maximum(values, start.FLOOR**2 * max(float(values.max()), 1.0))
        expected = np.linalg.cholesky((vectors * values) @ vectors.T)
        got = start._clipped_cholesky(cov)
        assert got[0, 1] == 0.0
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12 * np.abs(expected).max())
