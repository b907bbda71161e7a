"""The blocked Cholesky factor and the profiled objective (mixedmodels.linalg.factor).

Against plain GLS on the marginal covariance (gls_reference.dense_fit).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gls_reference import dense_fit, random_lambdas, random_problem  # noqa: E402

from mixedmodels.linalg import SufficientStats, Workspace  # noqa: E402
from mixedmodels.linalg.factor import (  # noqa: E402
    BlockedFactor,
    evaluate_objective,
    log_determinants,
    objective_from_parts,
    objective_parts,
    profiled_objective,
    update_factor,
)
from mixedmodels.linalg.statistics import compute_statistics  # noqa: E402

SPECS = [[(15, 1), (6, 1)], [(10, 2), (5, 2)], [(12, 2)], [(20, 1), (4, 2), (3, 1)]]


def setup(specs, seed, weights=False):
    rng = np.random.default_rng(seed)
    problem = random_problem(rng, 90, specs, weights=weights)
    stats = compute_statistics(problem.blocks, problem.X, problem.y, problem.weights)
    return problem, stats, Workspace(stats), random_lambdas(rng, problem)


@pytest.mark.parametrize("specs", SPECS)
@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("weights", [False, True])
def test_the_objective_is_the_gls_criterion(specs, reml, weights):
    problem, stats, ws, lams = setup(specs, 1, weights)
    expected = dense_fit(problem, lams, reml)["objective"]
    factor = update_factor(ws, lams[0], lams[1:])
    assert isinstance(factor, BlockedFactor)
    assert profiled_objective(factor, stats, reml) == pytest.approx(expected, rel=1e-10)
    assert evaluate_objective(ws, lams[0], lams[1:], reml) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("specs", SPECS)
def test_the_parts_are_the_factors_log_determinants_and_residual(specs):
    problem, stats, ws, lams = setup(specs, 2)
    factor = update_factor(ws, lams[0], lams[1:])
    logdet_z, logdet_x = log_determinants(factor, stats)
    parts = objective_parts(ws, lams[0], lams[1:])
    assert parts[0] == pytest.approx(logdet_z, rel=1e-10)
    assert parts[1] == pytest.approx(logdet_x, rel=1e-10, abs=1e-10)
    assert parts[2] == pytest.approx(factor.r2, rel=1e-9)
    # log|L_Z|^2 = log|Lambda' Z'Z Lambda + I|
    Z, Lam = problem.Z, problem.big_lambda(lams)
    M = Lam.T @ Z.T @ Z @ Lam + np.eye(Z.shape[1])
    assert logdet_z == pytest.approx(np.linalg.slogdet(M)[1], rel=1e-10)


def test_objective_from_parts_formulas():
    stats = SufficientStats(
        n=10,
        p=2,
        sum_log_weights=0.5,
        shapes=(),
        A11=np.zeros((0, 1, 1)),
        Ar1=np.zeros((3, 0)),
        Arr=np.eye(3),
    )
    log2pi = np.log(2 * np.pi)
    ml = objective_from_parts(1.0, 2.0, 4.0, stats, False)
    assert ml == pytest.approx(1.0 + 10 * (1 + log2pi + np.log(0.4)) - 0.5)
    reml = objective_from_parts(1.0, 2.0, 4.0, stats, True)
    assert reml == pytest.approx(1.0 + 2.0 + 8 * (1 + log2pi + np.log(0.5)) - 0.5)
    assert objective_from_parts(1.0, 2.0, 0.0, stats, True) == np.inf
    assert objective_from_parts(1.0, 2.0, np.nan, stats, True) == np.inf


def test_a_full_lambda_gives_the_same_objective_as_its_triangular_factor():
    problem, stats, ws, lams = setup([(10, 2), (5, 2)], 3)
    full = [lam @ np.linalg.qr(np.random.default_rng(4).normal(size=lam.shape))[0] for lam in lams]
    a = evaluate_objective(ws, lams[0], lams[1:], True)
    b = evaluate_objective(ws, full[0], full[1:], True)
    assert a == pytest.approx(b, rel=1e-10)
