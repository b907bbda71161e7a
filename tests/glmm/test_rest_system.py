"""The compiled multi-block system and PIRLS against the engine's general path."""

from __future__ import annotations

import numpy as np
import pytest

from mixedmodels.glmm import rest_system as rest_module
from mixedmodels.glmm.blocked_pirls import blocked_mode, plans_of
from mixedmodels.glmm.families import get_family
from mixedmodels.glmm.pirls import GlmmProblem, pirls
from mixedmodels.glmm.rest_system import rest_lambdas, rest_plan, rest_system
from mixedmodels.linalg import solve_at_optimum, update_factor
from mixedmodels.linalg.factor import log_determinants
from mixedmodels.linalg.reweight import reweight_plan, reweighted_workspace

N = 200
SPECS = [
    [(9, 2), (5, 1)],
    [(12, 1), (7, 2), (4, 1)],
    [(30, 1), (20, 1)],
    [(20, 3), (8, 2)],
    [(40, 1), (30, 1), (25, 2)],
    [(N, 1), (30, 1), (5, 1)],  # an observation-level first block: the second stays diagonal
    [(N, 2), (20, 2)],
    [(N, 1), (60, 3)],
]


def _blocks(rng, specs, n=N):
    """Random blocks (codes, Z, levels): every level used, an intercept column first."""
    blocks = []
    for levels, size in specs:
        codes = np.concatenate([np.arange(levels), rng.integers(0, levels, n - levels)])
        rng.shuffle(codes)
        Z = np.column_stack([np.ones(n)] + [rng.normal(0.5, 1.0, n) for _ in range(size - 1)])
        blocks.append((codes.astype(np.int64), Z, levels))
    return blocks


def _lambdas(rng, blocks, scale=1.0):
    out = []
    for _, Z, _ in blocks:
        s = Z.shape[1]
        lam = np.tril(rng.normal(scale=0.3 * scale, size=(s, s)))
        lam[np.diag_indices(s)] = scale * (np.abs(lam[np.diag_indices(s)]) + 0.3)
        out.append(lam)
    return out


def _call(plan, w, r, lams):
    s1 = lams[0].shape[0]
    levels1 = int(plan.ptr.size - 1)
    L11 = np.zeros((levels1, s1, s1))
    u1 = np.zeros((levels1, s1))
    xr = np.zeros(plan.m - 1)
    logdet_z, logdet_x, ok = rest_system(
        w, r, plan.codes1, plan.Z1, plan.rest_codes, plan.rest_Z, plan.rest_zoff,
        plan.rest_sizes, plan.rest_roff, plan.entry_k, plan.level_k, plan.ptr, plan.rows,
        plan.row_block, plan.row_start, plan.diagonal, plan.X, np.ascontiguousarray(lams[0]),
        rest_lambdas(lams), L11, u1, xr,
    )  # fmt: skip
    return logdet_z, logdet_x, ok, L11, u1, xr


@pytest.mark.parametrize("specs", SPECS)
@pytest.mark.parametrize("p", [0, 3])
def test_system_equals_the_engine(specs, p):
    rng = np.random.default_rng(11 * len(specs) + p + specs[0][0])
    blocks = _blocks(rng, specs)
    X = np.column_stack([np.ones(N)] + [rng.normal(size=N) for _ in range(2)])[:, :p]
    lams = _lambdas(rng, blocks)
    w = rng.uniform(0.1, 3.0, N)
    r = rng.normal(size=N)
    engine = reweighted_workspace(reweight_plan(blocks, X), r, w)
    factor = update_factor(engine, lams[0], lams[1:])
    solution = solve_at_optimum(engine, factor, lams[0], lams[1:])
    logdet_z, logdet_x = log_determinants(factor, engine.stats)
    plan = rest_plan(blocks, X)
    assert (plan.diagonal > 0) == (specs[0][0] == N)
    got_z, got_x, ok, L11, u1, xr = _call(plan, w, r, lams)
    assert ok
    assert got_z == pytest.approx(logdet_z, abs=1e-10)
    assert got_x == pytest.approx(logdet_x, abs=1e-10)
    np.testing.assert_allclose(L11, factor.L11, atol=1e-12)
    np.testing.assert_allclose(u1, solution.u[0], atol=1e-10)
    rest_u = np.concatenate([u.ravel() for u in solution.u[1:]])
    np.testing.assert_allclose(xr[: rest_u.size], rest_u, atol=1e-10)
    np.testing.assert_allclose(xr[rest_u.size :], solution.beta, atol=1e-10)


def test_system_reports_a_singular_rest():
    rng = np.random.default_rng(3)
    blocks = _blocks(rng, [(12, 1), (6, 1)])
    X = np.column_stack([np.ones(N), np.zeros(N)])  # a zero column: R_X singular
    plan = rest_plan(blocks, X)
    w, r = rng.uniform(0.5, 1.0, N), rng.normal(size=N)
    *_, ok, _, _, _ = _call(plan, w, r, _lambdas(rng, blocks))
    assert not ok


def test_no_plan_for_one_block_or_a_large_rest(monkeypatch):
    rng = np.random.default_rng(4)
    assert rest_plan(_blocks(rng, [(10, 1)]), np.ones((N, 1))) is None
    monkeypatch.setattr(rest_module, "MAX_REST", 20)
    assert rest_plan(_blocks(rng, [(10, 1), (30, 1)]), np.ones((N, 1))) is None


def _problem(rng, specs, family):
    blocks = _blocks(rng, specs)
    X = np.column_stack([np.ones(N), rng.normal(size=N)])
    eta = X @ np.array([-0.3, 0.6])
    for codes, Z, levels in blocks:
        eta += np.einsum("na,na->n", Z, rng.normal(scale=0.7, size=(levels, Z.shape[1]))[codes])
    fam = get_family(family, None)
    if family == "binomial":
        trials = rng.integers(1, 6, N).astype(float)
        y = rng.binomial(trials.astype(int), 1.0 / (1.0 + np.exp(-eta))) / trials
        weights = trials
    else:
        trials = np.ones(N)
        y = rng.poisson(np.exp(eta)).astype(float)
        weights = np.ones(N)
    return GlmmProblem.of(fam, y, trials, weights, np.zeros(N), X, blocks)


@pytest.mark.parametrize("family", ["binomial", "poisson"])
@pytest.mark.parametrize("specs", [SPECS[1], SPECS[3], SPECS[5], SPECS[7]])
@pytest.mark.parametrize("joint", [False, True])
def test_compiled_pirls_equals_the_general_path(family, specs, joint):
    rng = np.random.default_rng(len(specs) + specs[0][0] + (family == "poisson"))
    problem = _problem(rng, specs, family)
    lams = _lambdas(rng, problem.blocks, scale=0.8)
    beta = np.array([-0.2, 0.5])
    fast = pirls(problem, lams, beta, joint=joint)
    plain = pirls(problem, lams, beta, joint=joint, general=True)
    assert fast.stats is None  # the compiled path was taken
    assert fast.deviance == pytest.approx(plain.deviance, rel=1e-10)
    assert fast.logdet_z == pytest.approx(plain.logdet_z, abs=1e-8)
    assert fast.logdet_x == pytest.approx(plain.logdet_x, abs=1e-8)
    assert fast.penalty == pytest.approx(plain.penalty, rel=1e-8, abs=1e-12)
    np.testing.assert_allclose(fast.beta, plain.beta, atol=1e-8)
    for a, b in zip(fast.u, plain.u, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-8)
    np.testing.assert_allclose(fast.mu, plain.mu, rtol=1e-9)
    # a warm start reaches the same mode
    warm = pirls(problem, lams, beta, fast.u, joint=joint)
    assert warm.deviance == pytest.approx(plain.deviance, rel=1e-10)


def test_plans_are_built_once_per_problem():
    rng = np.random.default_rng(5)
    problem = _problem(rng, SPECS[0], "poisson")
    assert plans_of(problem) is plans_of(problem)
    lams = _lambdas(rng, problem.blocks)
    assert blocked_mode(problem, lams, np.zeros(2), None, False, 100) is not None
