"""The engine's compiled kernels (mixedmodels.linalg.kernels) against numpy's algebra."""

from __future__ import annotations

import numpy as np
import pytest

from mixedmodels.linalg import kernels


def spd(m, seed):
    a = np.random.default_rng(seed).normal(size=(m, m))
    return a @ a.T + m * np.eye(m)


@pytest.mark.parametrize("m", [1, 3, 12, 40])
def test_small_cholesky_is_numpys_lower_factor(m):
    a = spd(m, m)
    S = a.copy()
    assert kernels.small_cholesky(S) == 0
    np.testing.assert_allclose(np.tril(S), np.linalg.cholesky(a), rtol=1e-12, atol=1e-12)


def test_small_cholesky_reports_the_failing_column():
    a = spd(5, 1)
    a[3, 3] = -100.0
    assert kernels.small_cholesky(a.copy()) == 4


def test_log_diagonal_is_twice_the_sum_of_logs():
    S = np.diag([1.0, 2.0, 3.0, 4.0])
    assert kernels.log_diagonal(S, 1, 3) == pytest.approx(2 * np.log(6.0))
    assert kernels.log_diagonal(S, 2, 2) == 0.0


@pytest.mark.parametrize("p1", [1, 2, 3])
def test_first_block_factors_every_levels_matrix(p1):
    rng = np.random.default_rng(p1)
    levels = 6
    A11 = np.stack([spd(p1, 10 + g) for g in range(levels)])
    lam = np.tril(rng.normal(size=(p1, p1))) + 2 * np.eye(p1)
    L11 = np.zeros_like(A11)
    W = np.zeros_like(A11)
    logdet = kernels.first_block(A11, np.ascontiguousarray(lam), L11, W)
    total = 0.0
    for g in range(levels):
        M = lam.T @ A11[g] @ lam + np.eye(p1)
        np.testing.assert_allclose(np.tril(L11[g]), np.linalg.cholesky(M), rtol=1e-12)
        target = lam @ np.linalg.inv(M) @ lam.T
        got = W[g] if p1 == 1 else W[g] @ W[g].T  # W_g = lam^2 / M_g, or K_g with K K' = target
        np.testing.assert_allclose(got, target, rtol=1e-10, atol=1e-12)
        total += np.linalg.slogdet(M)[1]
    assert logdet == pytest.approx(total, rel=1e-12)


def test_first_block_over_level_ranges_adds_up():
    A11 = np.stack([spd(2, g) for g in range(8)])
    lam = np.array([[1.5, 0.0], [0.3, 0.7]])
    whole = kernels.first_block(A11, lam, np.zeros_like(A11), np.zeros_like(A11))
    L11, W = np.zeros_like(A11), np.zeros_like(A11)
    parts = kernels.first_block_levels(A11, lam, L11, W, 0, 3)
    parts += kernels.first_block_levels(A11, lam, L11, W, 3, 8)
    assert parts == pytest.approx(whole, rel=1e-14)
