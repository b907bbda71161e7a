"""Fixed effects, conditional modes and their covariances from one factor (linalg.solve)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gls_reference import dense_fit, random_lambdas, random_problem  # noqa: E402

from mixedmodels.linalg import Workspace  # noqa: E402
from mixedmodels.linalg.factor import update_factor  # noqa: E402
from mixedmodels.linalg.solve import Solution, solve_at_optimum  # noqa: E402
from mixedmodels.linalg.statistics import compute_statistics  # noqa: E402


@pytest.mark.parametrize("specs", [[(15, 1), (6, 1)], [(10, 2), (5, 2)], [(12, 2)]])
@pytest.mark.parametrize("weights", [False, True])
def test_the_solution_is_gls(specs, weights):
    rng = np.random.default_rng(5)
    problem = random_problem(rng, 90, specs, weights=weights)
    stats = compute_statistics(problem.blocks, problem.X, problem.y, problem.weights)
    ws = Workspace(stats)
    lams = random_lambdas(rng, problem)
    factor = update_factor(ws, lams[0], lams[1:])
    solution = solve_at_optimum(ws, factor, lams[0], lams[1:])
    assert isinstance(solution, Solution)
    expected = dense_fit(problem, lams, reml=True)
    np.testing.assert_allclose(solution.beta, expected["beta"], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(
        solution.beta_cov_unscaled, expected["beta_cov_unscaled"], rtol=1e-8, atol=1e-12
    )
    # b = Lambda u, block by block, level-major
    Lam = problem.big_lambda(lams)
    u = np.concatenate([block.ravel() for block in solution.u])
    np.testing.assert_allclose(Lam @ u, expected["b"], rtol=1e-7, atol=1e-9)
    # the conditional covariances: diagonal blocks of (L_Z L_Z')^-1
    inverse = expected["u_cov_unscaled"]
    offset = 0
    for block, (_, matrix, levels) in zip(solution.u_cov_unscaled, problem.blocks, strict=True):
        size = matrix.shape[1]
        assert block.shape == (levels, size, size)
        for level in range(levels):
            at = slice(offset + level * size, offset + (level + 1) * size)
            np.testing.assert_allclose(block[level], inverse[at, at], rtol=1e-7, atol=1e-10)
        offset += levels * size


def test_conditional_variances_can_be_left_out():
    rng = np.random.default_rng(6)
    problem = random_problem(rng, 60, [(10, 1), (4, 1)])
    stats = compute_statistics(problem.blocks, problem.X, problem.y, None)
    ws = Workspace(stats)
    lams = random_lambdas(rng, problem)
    factor = update_factor(ws, lams[0], lams[1:])
    quick = solve_at_optimum(ws, factor, lams[0], lams[1:], conditional_variances=False)
    full = solve_at_optimum(ws, factor, lams[0], lams[1:])
    np.testing.assert_array_equal(quick.beta, full.beta)
