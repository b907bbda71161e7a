"""Fast evaluation paths (workspace, compiled kernels, solves) against a plain dense model."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

try:
    import mixedmodels  # noqa: F401
except ImportError:  # not installed: run from the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gls_reference import dense_fit, random_lambdas, random_problem  # noqa: E402

from mixedmodels.linalg import (  # noqa: E402
    Workspace,
    compute_statistics,
    evaluate_objective,
    profiled_objective,
    response_statistics,
    solve_at_optimum,
    update_factor,
)
from mixedmodels.linalg import statistics as statistics_module  # noqa: E402

# (levels, size) per block, most levels first: scalar, vector, crossed, vector rest blocks
LAYOUTS = {
    "one_scalar": [(9, 1)],
    "one_slope": [(7, 2)],
    "three_columns": [(6, 3)],
    "crossed_scalar": [(11, 1), (5, 1), (3, 1)],
    "slope_then_scalar": [(8, 2), (4, 1)],
    "scalar_then_slopes": [(10, 1), (6, 2), (3, 3)],
}


@pytest.fixture(params=["dense", "sparse"])
def ar1_storage(request, monkeypatch):
    """Run with Ar1 stored dense (small problems' default) and forced sparse."""
    if request.param == "sparse":
        monkeypatch.setattr(statistics_module, "DENSE_LIMIT", 0)
        monkeypatch.setattr(statistics_module, "DENSE_FILL", 2.0)
    return request.param


@pytest.fixture(params=["serial", "by_rows"])
def scatter(request, monkeypatch):
    """Run with the serial scatter kernel and the row-wise parallel one."""
    from mixedmodels.linalg import workspace

    monkeypatch.setattr(workspace, "BY_ROWS_MIN", 0 if request.param == "by_rows" else 10**12)
    return request.param


@pytest.fixture(params=["whole", "chunked"])
def one_block(request, monkeypatch):
    """Run one-block evaluations in one compiled call and cut in level chunks on the pool."""
    from mixedmodels.linalg import workspace

    monkeypatch.setattr(workspace, "CHUNKED_MIN_WORK", 0 if request.param == "chunked" else 10**18)
    return request.param


def _stats(problem):
    return compute_statistics(problem.blocks, problem.X, problem.y, problem.weights)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("weights", [False, True])
def test_objective_matches_dense_gls(layout, weights, ar1_storage, scatter, one_block):
    rng = np.random.default_rng(abs(hash((layout, weights))) % 2**32)
    problem = random_problem(rng, 60, LAYOUTS[layout], p=3, weights=weights)
    stats = _stats(problem)
    assert stats.ar1_is_sparse == (ar1_storage == "sparse")
    workspace = Workspace(stats)
    for triangular in (True, False):
        lams = random_lambdas(rng, problem, triangular=triangular)
        for reml in (True, False):
            expected = dense_fit(problem, lams, reml)["objective"]
            fast = evaluate_objective(workspace, lams[0], lams[1:], reml)
            factor = update_factor(workspace, lams[0], lams[1:])
            via_factor = profiled_objective(factor, stats, reml)
            assert fast == pytest.approx(expected, rel=1e-10, abs=1e-8)
            assert via_factor == pytest.approx(expected, rel=1e-10, abs=1e-8)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_solution_matches_dense_gls(layout, ar1_storage, scatter, one_block):
    rng = np.random.default_rng(len(layout))
    problem = random_problem(rng, 70, LAYOUTS[layout], p=2, weights=True)
    workspace = Workspace(_stats(problem))
    lams = random_lambdas(rng, problem)
    expected = dense_fit(problem, lams, reml=True)
    factor = update_factor(workspace, lams[0], lams[1:])
    sol = solve_at_optimum(workspace, factor, lams[0], lams[1:])
    np.testing.assert_allclose(sol.beta, expected["beta"], rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(
        sol.beta_cov_unscaled, expected["beta_cov_unscaled"], rtol=1e-8, atol=1e-10
    )
    assert factor.r2 == pytest.approx(expected["r2"], rel=1e-9)
    b = np.concatenate([(u @ lam.T).ravel() for u, lam in zip(sol.u, lams, strict=True)])
    np.testing.assert_allclose(b, expected["b"], rtol=1e-8, atol=1e-8)
    covs = expected["u_cov_unscaled"]
    offset = 0
    for (_, matrix, levels), block_cov in zip(problem.blocks, sol.u_cov_unscaled, strict=True):
        size = matrix.shape[1]
        for g in range(levels):
            sl = slice(offset + g * size, offset + (g + 1) * size)
            np.testing.assert_allclose(block_cov[g], covs[sl, sl], rtol=1e-8, atol=1e-10)
        offset += levels * size


def test_new_response_reuses_pattern(ar1_storage):
    rng = np.random.default_rng(5)
    problem = random_problem(rng, 80, LAYOUTS["scalar_then_slopes"], p=2)
    stats = _stats(problem)
    workspace = Workspace(stats)
    lams = random_lambdas(rng, problem)
    evaluate_objective(workspace, lams[0], lams[1:], True)
    y_new = rng.normal(size=problem.y.size) * 3.0
    ar1_y, arr_y = response_statistics(problem.blocks, problem.X, y_new)
    refit = workspace.with_response(stats.with_response_part(ar1_y, arr_y), ar1_y)
    assert refit.rows is workspace.rows
    problem.y = y_new
    fresh = Workspace(_stats(problem))
    for reml in (True, False):
        assert evaluate_objective(refit, lams[0], lams[1:], reml) == pytest.approx(
            evaluate_objective(fresh, lams[0], lams[1:], reml), rel=1e-12
        )
        assert evaluate_objective(refit, lams[0], lams[1:], reml) == pytest.approx(
            dense_fit(problem, lams, reml)["objective"], rel=1e-10
        )


def test_not_positive_definite_is_infinite():
    rng = np.random.default_rng(2)
    problem = random_problem(rng, 40, [(6, 1)], p=2)
    problem.X = np.column_stack([problem.X, problem.X[:, 1]])  # aliased column
    workspace = Workspace(_stats(problem))
    assert evaluate_objective(workspace, np.eye(1), [], True) == np.inf
    with pytest.raises(np.linalg.LinAlgError):
        update_factor(workspace, np.eye(1), [])


def test_large_rest_uses_lapack_path():
    """A rest above the small-Cholesky size goes through LAPACK; same answer."""
    rng = np.random.default_rng(11)
    problem = random_problem(rng, 400, [(90, 1), (60, 1)], p=2)
    stats = _stats(problem)
    assert stats.m > 48
    lams = random_lambdas(rng, problem)
    expected = dense_fit(problem, lams, reml=True)["objective"]
    found = evaluate_objective(Workspace(stats), lams[0], lams[1:], True)
    assert found == pytest.approx(expected, rel=1e-10)


def test_scalar_pattern_matches_the_general_one():
    import scipy.sparse as sp

    from mixedmodels.linalg.workspace import level_pattern

    rng = np.random.default_rng(9)
    dense = rng.normal(size=(7, 12)) * (rng.random((7, 12)) < 0.4)
    dense[-1, [0, 3, 4]] = 0.0  # levels without a response entry
    dense[:, 5] = 0.0  # a level with no entry at all
    fast = level_pattern(sp.csr_matrix(dense), 1)
    general = level_pattern(dense, 1)
    for a, b in zip(fast, general, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("size", [1, 3])
def test_full_pattern_matches_the_general_one(size):
    from mixedmodels.linalg import workspace

    rng = np.random.default_rng(10 + size)
    dense = rng.normal(size=(5, 8 * size))  # every level has every row
    full = workspace.level_pattern(dense, size)
    general = workspace._general_pattern(dense, 5, 8, size)
    for a, b in zip(full, general, strict=True):
        np.testing.assert_array_equal(a, b)


def test_threads_share_a_workspace_safely(monkeypatch):
    """Per-thread buffers; the parallel kernel is entered by one thread at a time."""
    from concurrent.futures import ThreadPoolExecutor

    from mixedmodels.linalg import workspace

    monkeypatch.setattr(workspace, "BY_ROWS_MIN", 0)
    rng = np.random.default_rng(21)
    problem = random_problem(rng, 300, [(40, 1), (12, 2)], p=2)
    shared = Workspace(_stats(problem))
    lam_sets = [random_lambdas(rng, problem) for _ in range(16)]
    expected = [dense_fit(problem, lams, True)["objective"] for lams in lam_sets]

    def run(lams):
        return evaluate_objective(shared, lams[0], lams[1:], True)

    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(run, lam_sets * 4))
    np.testing.assert_allclose(got, expected * 4, rtol=1e-10)


@pytest.mark.parametrize("layout", ["one_scalar", "three_columns"])
def test_chunked_one_block_gives_the_same_bits_on_any_pool(layout, monkeypatch):
    from mixedmodels.linalg import tiled, workspace

    monkeypatch.setattr(workspace, "CHUNKED_MIN_WORK", 0)
    rng = np.random.default_rng(11)
    problem = random_problem(rng, 200, [(40, LAYOUTS[layout][0][1])], p=2, weights=False)
    lams = random_lambdas(rng, problem, triangular=True)
    pooled = Workspace(_stats(problem))
    shared = evaluate_objective(pooled, lams[0], lams[1:], True)
    assert len(pooled.level_chunks) > 1
    monkeypatch.setattr(tiled, "_workers", lambda: 1)
    alone = evaluate_objective(Workspace(_stats(problem)), lams[0], lams[1:], True)
    assert alone == shared


@pytest.mark.parametrize("shape", [(1, 12), (3, 12)])
def test_level_pattern_values_are_never_a_view_of_ar1(shape):
    from mixedmodels.linalg.workspace import level_pattern

    ar1 = np.arange(1.0, 1.0 + np.prod(shape)).reshape(shape)  # no zeros: the full pattern
    _, _, values = level_pattern(ar1, 2)
    assert not np.may_share_memory(values, ar1)
