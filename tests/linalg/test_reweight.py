"""Reweighted statistics and workspace (the GLMM's PIRLS step) against a dense [Z X y]'W[Z X y]."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from gls_reference import random_lambdas, random_problem

from mixedmodels.linalg import Workspace, compute_statistics, solve_at_optimum, update_factor
from mixedmodels.linalg import reweight as reweight_module
from mixedmodels.linalg.reweight import reweight_plan, reweighted_workspace

SPECS = [
    [(9, 1)],
    [(9, 2), (5, 1)],
    [(12, 1), (7, 2), (4, 1)],
    [(30, 1), (20, 1)],
    [(20, 3), (8, 2)],
]


def _dense(matrix):
    return matrix.toarray() if sp.issparse(matrix) else np.asarray(matrix)


def _dense_blocks(problem, X, y, w):
    """The three pieces of A from a dense [Z X y] (first block's columns, then the rest)."""
    Z = problem.Z
    q1 = problem.blocks[0][2] * problem.blocks[0][1].shape[1]
    M = np.column_stack([Z, X, y])
    A = M.T @ (w[:, None] * M)
    return A[:q1, :q1], A[q1:, :q1], A[q1:, q1:]


@pytest.mark.parametrize("specs", SPECS)
@pytest.mark.parametrize("p", [0, 3])
def test_statistics_equal_the_dense_products(specs, p):
    rng = np.random.default_rng(len(specs) * 10 + p)
    problem = random_problem(rng, 160, specs, p=max(p, 1), weights=True)
    X = problem.X[:, :p]
    engine = reweighted_workspace(reweight_plan(problem.blocks, X), problem.y, problem.weights)
    stats = engine.stats
    A11, Ar1, Arr = _dense_blocks(problem, X, problem.y, problem.weights)
    size1 = problem.blocks[0][1].shape[1]
    levels1 = problem.blocks[0][2]
    block_diag = np.zeros_like(A11)
    for g in range(levels1):
        sl = slice(g * size1, (g + 1) * size1)
        block_diag[sl, sl] = stats.A11[g]
    np.testing.assert_allclose(block_diag, A11, atol=1e-10)
    np.testing.assert_allclose(_dense(stats.Ar1), Ar1, atol=1e-10)
    np.testing.assert_allclose(stats.Arr, Arr, atol=1e-9)
    assert stats.sum_log_weights == pytest.approx(np.sum(np.log(problem.weights)))


@pytest.mark.parametrize("specs", SPECS)
def test_factor_and_solution_equal_compute_statistics(specs):
    rng = np.random.default_rng(7 + len(specs))
    problem = random_problem(rng, 150, specs, p=2, weights=True)
    plan = reweight_plan(problem.blocks, problem.X)
    lams = random_lambdas(rng, problem)
    for _ in range(2):  # new weights and response on the same plan
        w = rng.uniform(0.1, 3.0, problem.X.shape[0])
        y = rng.normal(size=w.size)
        ours = reweighted_workspace(plan, y, w)
        plain = Workspace(compute_statistics(problem.blocks, problem.X, y, w))
        fa = update_factor(plain, lams[0], lams[1:])
        fb = update_factor(ours, lams[0], lams[1:])
        np.testing.assert_allclose(fb.L11, fa.L11, atol=1e-10)
        np.testing.assert_allclose(fb.Lrr, fa.Lrr, atol=1e-9)
        sa = solve_at_optimum(plain, fa, lams[0], lams[1:])
        sb = solve_at_optimum(ours, fb, lams[0], lams[1:])
        np.testing.assert_allclose(sb.beta, sa.beta, atol=1e-9)
        for ua, ub in zip(sa.u, sb.u, strict=True):
            np.testing.assert_allclose(ub, ua, atol=1e-9)
        for va, vb in zip(sa.u_cov_unscaled, sb.u_cov_unscaled, strict=True):
            np.testing.assert_allclose(vb, va, atol=1e-10)


def test_compressed_ar1_route(monkeypatch):
    """With the dense limit lowered, Ar1 is compressed by column and gives the same factor."""
    monkeypatch.setattr(reweight_module, "DENSE_LIMIT", 0)
    monkeypatch.setattr(reweight_module, "DENSE_FILL", 1.0)
    rng = np.random.default_rng(3)
    problem = random_problem(rng, 200, [(40, 2), (25, 1)], p=2, weights=True)
    plan = reweight_plan(problem.blocks, problem.X)
    assert not plan.ar1_dense
    engine = reweighted_workspace(plan, problem.y, problem.weights)
    stats = engine.stats
    assert sp.issparse(stats.Ar1)
    plain = compute_statistics(problem.blocks, problem.X, problem.y, problem.weights)
    np.testing.assert_allclose(_dense(stats.Ar1), _dense(plain.Ar1), atol=1e-10)
    lams = random_lambdas(rng, problem)
    np.testing.assert_allclose(
        update_factor(engine, lams[0], lams[1:]).Lrr,
        update_factor(Workspace(plain), lams[0], lams[1:]).Lrr,
        atol=1e-9,
    )


def test_structural_zeros_keep_the_pattern():
    """A column that is zero on some level pairs (weights > 0 elsewhere) stays exact."""
    rng = np.random.default_rng(11)
    problem = random_problem(rng, 120, [(10, 1), (6, 2)], p=2, weights=True)
    codes, matrix, levels = problem.blocks[1]
    matrix = matrix.copy()
    matrix[codes == 2, 1] = 0.0  # the slope is absent for one level of the second block
    blocks = [problem.blocks[0], (codes, matrix, levels)]
    engine = reweighted_workspace(reweight_plan(blocks, problem.X), problem.y, problem.weights)
    stats = engine.stats
    plain = compute_statistics(blocks, problem.X, problem.y, problem.weights)
    np.testing.assert_allclose(_dense(stats.Ar1), _dense(plain.Ar1), atol=1e-10)
    np.testing.assert_allclose(stats.Arr, plain.Arr, atol=1e-9)


@pytest.mark.parametrize("size", [1, 2, 3])
def test_one_block_system_equals_the_engine(size):
    """The compiled one-block factor and solve against update_factor + solve_at_optimum."""
    from mixedmodels.linalg.reweight import one_block_system

    rng = np.random.default_rng(size)
    problem = random_problem(rng, 140, [(12, size)], p=1, weights=True)
    codes, Z, levels = problem.blocks[0]
    lam = random_lambdas(rng, problem)[0]
    X = np.zeros((140, 0))
    engine = reweighted_workspace(reweight_plan(problem.blocks, X), problem.y, problem.weights)
    factor = update_factor(engine, lam, [])
    solution = solve_at_optimum(engine, factor, lam, [])
    A = np.empty((levels, size, size))
    L11 = np.zeros((levels, size, size))
    u = np.empty((levels, size))
    logdet = one_block_system(
        codes, np.ascontiguousarray(Z), problem.weights, problem.y, lam, A, L11, u
    )
    np.testing.assert_allclose(u, solution.u[0], atol=1e-10)
    np.testing.assert_allclose(L11, factor.L11, atol=1e-12)
    expected = 2 * np.sum(np.log(np.diagonal(factor.L11, axis1=1, axis2=2)))
    assert logdet == pytest.approx(expected, rel=1e-12)
    # and the dense definition: (Lambda' Z' W Z Lambda + I) u = Lambda' Z' W y
    Zd = problem.Z
    big = np.kron(np.eye(levels), lam)
    M = big.T @ Zd.T @ (problem.weights[:, None] * Zd) @ big + np.eye(levels * size)
    rhs = big.T @ Zd.T @ (problem.weights * problem.y)
    np.testing.assert_allclose(u.ravel(), np.linalg.solve(M, rhs), atol=1e-9)
    assert logdet == pytest.approx(np.linalg.slogdet(M)[1], rel=1e-10)


@pytest.mark.parametrize("size", [1, 2])
def test_one_block_joint_system_equals_the_engine(size):
    """The compiled one-block solve with X against update_factor + solve_at_optimum."""
    from mixedmodels.linalg.factor import log_determinants
    from mixedmodels.linalg.reweight import one_block_joint_system

    rng = np.random.default_rng(10 + size)
    problem = random_problem(rng, 140, [(12, size)], p=3, weights=True)
    codes, Z, levels = problem.blocks[0]
    lam = np.ascontiguousarray(random_lambdas(rng, problem)[0])
    engine = reweighted_workspace(
        reweight_plan(problem.blocks, problem.X), problem.y, problem.weights
    )
    stats = engine.stats
    factor = update_factor(engine, lam, [])
    solution = solve_at_optimum(engine, factor, lam, [])
    L11 = np.zeros((levels, size, size))
    u, beta = np.empty((levels, size)), np.empty(3)
    logdet_z, logdet_x = one_block_joint_system(
        codes,
        np.ascontiguousarray(Z),
        np.ascontiguousarray(problem.X),
        problem.weights,
        problem.y,
        lam,
        L11,
        u,
        beta,
    )
    np.testing.assert_allclose(u, solution.u[0], atol=1e-10)
    np.testing.assert_allclose(beta, solution.beta, atol=1e-10)
    expected_z, expected_x = log_determinants(factor, stats)
    assert logdet_z == pytest.approx(expected_z, rel=1e-12)
    assert logdet_x == pytest.approx(expected_x, rel=1e-10, abs=1e-12)
