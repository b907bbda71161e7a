"""The sparse (CHOLMOD) route for the rest's random effects against the dense route and GLS."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_engine_vs_dense import (  # noqa: E402
    FORMULAS,
    dense_objective,
    random_data,
    random_theta,
)

import mixedmodels as mm  # noqa: E402
from mixedmodels.linalg import cholmod, sparse_rest  # noqa: E402

pytest.importorskip("cvxopt")

WITH_REST = [f for f in FORMULAS if f.count("|") > 1]


@pytest.fixture
def always_sparse(monkeypatch):
    """Take the sparse route for any rest, however small or dense."""
    monkeypatch.setattr(sparse_rest, "SPARSE_MIN", 1)
    monkeypatch.setattr(sparse_rest, "SPARSE_MAX_DENSITY", 1.0)


def sparse_crossed(students: int, teachers: int, per_student: int, seed: int = 0) -> pd.DataFrame:
    """InstEval's shape: every student rates a few teachers, so teachers rarely share one."""
    rng = np.random.default_rng(seed)
    s = np.repeat(np.arange(students), per_student)
    d = rng.integers(0, teachers, s.size)
    y = rng.normal(size=students)[s] * 0.5 + rng.normal(size=teachers)[d] * 0.3
    y = y + rng.normal(size=s.size)
    return pd.DataFrame({"y": y, "x": rng.normal(size=s.size), "s": s, "d": d})


@pytest.mark.usefixtures("always_sparse")
@pytest.mark.parametrize("formula", WITH_REST)
@pytest.mark.parametrize("reml", [True, False])
def test_sparse_objective_matches_dense_gls(formula, reml):
    model = mm.LinearMixedModel(formula, random_data(hash(formula) % 1000))
    assert model.workspace.sparse is not None
    rng = np.random.default_rng(2)
    for _ in range(3):
        theta = random_theta(model, rng)
        assert model.objective(theta, reml) == pytest.approx(
            dense_objective(model, theta, reml), rel=1e-10, abs=1e-8
        )


@pytest.mark.usefixtures("always_sparse")
@pytest.mark.parametrize("formula", WITH_REST)
def test_sparse_and_dense_routes_agree(formula):
    model = mm.LinearMixedModel(formula, random_data(5), weights="w")
    workspace = model.workspace
    rng = np.random.default_rng(3)
    lams = model.lambdas(random_theta(model, rng))
    sparse = workspace.evaluate(lams[0], lams[1:], conditioned=True)
    dense = workspace.evaluate(lams[0], lams[1:], conditioned=True, dense=True)
    assert sparse.logdet_z == pytest.approx(dense.logdet_z, rel=1e-12)
    assert sparse.logdet_x == pytest.approx(dense.logdet_x, rel=1e-12, abs=1e-12)
    assert sparse.r2 == pytest.approx(dense.r2, rel=1e-11)


@pytest.mark.usefixtures("always_sparse")
@pytest.mark.parametrize("formula", WITH_REST)
def test_pattern_covers_every_nonzero(formula):
    model = mm.LinearMixedModel(formula, random_data(8))
    workspace = model.workspace
    lams = model.lambdas(random_theta(model, np.random.default_rng(4)))
    workspace.evaluate(lams[0], lams[1:], dense=True)
    # the dense route leaves the factor; rebuild S from it and look where it is non-zero
    _, Lrr = workspace.current_factor()
    qr = workspace.q_rest
    S = (Lrr @ Lrr.T)[:qr, :qr]
    inside = np.zeros((qr, qr), dtype=bool)
    rows, cols = workspace.sparse.I, workspace.sparse.J  # the whole rest's pattern
    zz = rows < qr
    inside[rows[zz], cols[zz]] = True
    outside = np.tril(~inside)
    assert np.all(np.abs(S[outside]) < 1e-10 * np.abs(S).max())
    assert np.all(workspace.sparse.I >= workspace.sparse.J)


@pytest.mark.usefixtures("always_sparse")
def test_sparse_fit_matches_dense_fit(monkeypatch):
    data = random_data(21)
    formula = "y ~ x + (1 + x|g) + (1 + x|h)"
    sparse_fit = mm.lmer(formula, data)
    monkeypatch.setattr(sparse_rest, "SPARSE_MIN", 10**9)
    dense_fit = mm.lmer(formula, data)
    assert sparse_fit.model.workspace.sparse is not None
    assert dense_fit.model.workspace.sparse is None
    # rounding differs between the routes, so BOBYQA's path differs by a hair
    assert sparse_fit.reml_criterion == pytest.approx(dense_fit.reml_criterion, abs=1e-7)
    assert np.allclose(sparse_fit.theta, dense_fit.theta, atol=1e-3)


def test_route_chosen_by_pattern():
    sparse_data = sparse_crossed(students=1500, teachers=600, per_student=4)
    model = mm.LinearMixedModel("y ~ x + (1|s) + (1|d)", sparse_data)
    workspace = model.workspace
    assert workspace.sparse is not None
    assert workspace.sparse.n_entries < 0.1 * 600 * 601 / 2
    # every student meets every teacher: a dense rest, factored densely
    dense_data = sparse_crossed(students=40, teachers=320, per_student=320)
    dense_data["d"] = np.tile(np.arange(320), 40)
    assert mm.LinearMixedModel("y ~ x + (1|s) + (1|d)", dense_data).workspace.sparse is None


def test_sparse_route_fit_equals_dense_route(monkeypatch):
    data = sparse_crossed(students=1500, teachers=600, per_student=4, seed=3)
    formula = "y ~ x + (1|s) + (1|d)"
    fast = mm.lmer(formula, data)
    monkeypatch.setattr(sparse_rest, "available", lambda: False)
    slow = mm.lmer(formula, data)
    assert fast.model.workspace.sparse is not None
    assert slow.model.workspace.sparse is None
    assert fast.optsum.cholmod == cholmod.label()  # the fit says which CHOLMOD it ran on
    assert fast.optsum.cholmod.startswith(f"{cholmod.binding().name} binding, CHOLMOD 3.")
    assert slow.optsum.cholmod is None  # evaluated densely
    assert fast.model.result_at(fast.theta).optsum.cholmod == fast.optsum.cholmod
    assert fast.reml_criterion == pytest.approx(slow.reml_criterion, abs=1e-8)
    assert np.allclose(fast.theta, slow.theta, atol=1e-5)
    assert np.allclose(fast.fixef, slow.fixef, atol=1e-7)


def test_not_positive_definite_is_none():
    I = np.array([0, 1, 1])
    J = np.array([0, 0, 1])
    route = sparse_rest.SparseRest(I, J, m=3, q_rest=2)
    S = np.array([[1.0, 0.0, 0.0], [2.0, 1.0, 0.0], [0.5, 0.5, 3.0]])  # |S_zz| < 0
    assert route.evaluate(route.gather(S), p=0) is None
    S[1, 0] = 0.5
    logdet_z, logdet_x, r = route.evaluate(route.gather(S), p=0)
    assert logdet_z == pytest.approx(np.log(0.75))
    assert logdet_x == 0.0
    Szz = np.array([[1.0, 0.5], [0.5, 1.0]])
    b = np.array([0.5, 0.5])
    assert r**2 == pytest.approx(3.0 - b @ np.linalg.solve(Szz, b))


@pytest.mark.parametrize("seed", [0, 1])
def test_scalar_pattern_by_marks_equals_the_sparse_products(monkeypatch, seed):
    data = sparse_crossed(students=400, teachers=150, per_student=3, seed=seed)
    data["e"] = data["d"] % 7
    workspace = mm.LinearMixedModel("y ~ x + (1|s) + (1|d) + (1|e)", data).workspace
    args = (
        workspace.ptr,
        workspace.rows,
        workspace.stats.Arr,
        workspace.offsets,
        workspace.rest_levels,
        workspace.rest_sizes,
    )
    by_marks = sparse_rest.rest_pattern(*args)
    monkeypatch.setattr(sparse_rest, "DENSE_MARKS_MAX", 0)
    by_products = sparse_rest.rest_pattern(*args)
    assert by_marks[0].size > workspace.q_rest
    assert np.array_equal(by_marks[0], by_products[0])
    assert np.array_equal(by_marks[1], by_products[1])


def test_sparse_route_fit_is_the_same_through_cvxopts_binding(monkeypatch):
    from test_grouped_schur import FORMULA, ratings

    from mixedmodels.linalg.cholmod import cvxopt_binding

    data = ratings(students=2500, teachers=500, depts=12, seed=3)
    direct = mm.lmer(FORMULA, data)
    assert mm.LinearMixedModel(FORMULA, data).workspace.sparse.releases_gil
    monkeypatch.setitem(cholmod._state, "binding", cvxopt_binding.CvxoptBinding())
    monkeypatch.setitem(cholmod._state, "chosen", True)
    model = mm.LinearMixedModel(FORMULA, data)
    assert model.workspace.sparse.binding == "cvxopt"
    assert not model.workspace.sparse.releases_gil
    through_cvxopt = model.fit()
    assert through_cvxopt.optsum.cholmod.startswith("cvxopt binding, CHOLMOD 3.")
    assert direct.optsum.cholmod.startswith("ctypes binding, CHOLMOD 3.")
    np.testing.assert_array_equal(direct.theta, through_cvxopt.theta)
    assert direct.objective == through_cvxopt.objective


def test_parallel_convergence_check_gives_the_serial_fit(monkeypatch):
    from test_grouped_schur import FORMULA, ratings
    from test_objective_closures import assert_parallel_check_gives_the_serial_fit

    data = ratings(students=2500, teachers=500, depts=12, seed=6)
    assert_parallel_check_gives_the_serial_fit(FORMULA, data, monkeypatch)
