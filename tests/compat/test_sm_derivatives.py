"""Exact score and Hessian (compat._sm_derivatives) against statsmodels 0.15's own formulas.

statsmodels' ``score_full`` / ``score_sqrt`` / ``hessian`` are evaluated at points that are
not optima, with fixed effects that are not the GLS estimate, on models with random
intercepts, random slopes, variance components of one and of several columns, and none but
variance components; REML and ML.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from mixedmodels.compat._sm_derivatives import derivatives, sqrt_jacobian
from mixedmodels.compat._sm_likelihood import GroupStats, evaluate, gls_fe, loglike_value

smlm = pytest.importorskip("statsmodels.regression.mixed_linear_model")

N_GROUPS, PER_GROUP = 12, 15


def _data(seed: int):
    rng = np.random.default_rng(seed)
    n = N_GROUPS * PER_GROUP
    groups = np.repeat(np.arange(N_GROUPS), PER_GROUP)
    x = rng.normal(size=n)
    w = rng.normal(size=(n, 3))
    y = 1 + 0.5 * x + rng.normal(size=N_GROUPS)[groups] + w[:, 0] * 0.4 + rng.normal(size=n)
    return rng, groups, x, w, y


def _model(kind: str, seed: int):
    """A statsmodels model, the matching GroupStats and the sizes (k_fe, k_re, k_vc)."""
    rng, groups, x, w, y = _data(seed)
    n = y.size
    X = np.column_stack([np.ones(n), x, w[:, 2]])
    rows = [np.flatnonzero(groups == i) for i in range(N_GROUPS)]
    if kind in ("intercept", "slopes"):
        Z = X[:, :1] if kind == "intercept" else X[:, :2]
        mats: list[list[np.ndarray]] = []
    else:
        Z = np.ones((n, 1)) if kind == "vc_multi" else np.zeros((n, 0))
        # one component of one column, one of two columns, one of three (a factor's levels)
        level = rng.integers(0, 3, n)
        mats = [
            [w[r, :1] for r in rows],
            [w[r, :2] for r in rows],
            [(level[r, None] == np.arange(3)).astype(float) for r in rows],
        ]
    if mats:
        names = ["a", "b", "c"]
        colnames = [
            [[f"{nm}{k}" for k in range(ms[0].shape[1])]] * N_GROUPS
            for nm, ms in zip(names, mats, strict=True)
        ]
        exog_vc = smlm.VCSpec(names, colnames, mats)
    else:
        exog_vc = None
    exog_re = Z if Z.shape[1] else None
    model = smlm.MixedLM(y, X, groups, exog_re=exog_re, exog_vc=exog_vc)
    model.cov_pen = model.fe_pen = model._freepat = None
    model._cov_sing = 0
    zs, owners = [], []
    for i, r in enumerate(rows):
        parts = [Z[r], *(ms[i] for ms in mats)]
        zs.append(np.hstack(parts))
        owners.append(
            np.concatenate([np.full(ms[i].shape[1], j) for j, ms in enumerate(mats)])
            if mats
            else np.zeros(0, dtype=int)
        )
    stats = GroupStats.build(y, X, rows, zs, owners, Z.shape[1])
    return model, stats, X.shape[1], Z.shape[1], len(mats)


def _point(rng, k_fe: int, k_re: int, k_vc: int):
    root = np.tril(rng.normal(scale=0.6, size=(k_re, k_re)))
    root[np.diag_indices(k_re)] = np.abs(root[np.diag_indices(k_re)]) + 0.2
    return rng.normal(size=k_fe), root @ root.T, rng.uniform(0.05, 1.5, size=k_vc)


CASES = [
    (kind, reml)
    for kind in ("intercept", "slopes", "vc_multi", "vc_only")
    for reml in (True, False)
]


@pytest.mark.parametrize(("kind", "reml"), CASES)
def test_score_and_hessian_equal_statsmodels_at_any_point(kind, reml):
    model, stats, k_fe, k_re, k_vc = _model(kind, seed=3)
    model.reml = reml
    rng = np.random.default_rng(11)
    for _ in range(3):
        fe, cov, vc = _point(rng, k_fe, k_re, k_vc)
        pa = smlm.MixedLMParams.from_components(fe, cov, vcomp=vc)
        ours = derivatives(stats, cov, vc, fe, reml, hessian=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref_fe, ref_re, ref_vc = model.score_full(pa, calc_fe=True)
            ref_h, _ = model.hessian(pa)
            _, sq_re, sq_vc = model.score_sqrt(pa, calc_fe=False)
        ref = np.concatenate([ref_fe, ref_re, ref_vc])
        got = np.concatenate([ours.score_fe, ours.score_var])
        np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-9 * np.abs(ref).max())
        assert ours.hessian is not None
        np.testing.assert_allclose(ours.hessian, ref_h, rtol=1e-9, atol=1e-9 * np.abs(ref_h).max())
        jac, _ = sqrt_jacobian(cov, vc)
        ref_sq = np.concatenate([sq_re, sq_vc])
        np.testing.assert_allclose(
            jac.T @ ours.score_var, ref_sq, rtol=1e-9, atol=1e-9 * np.abs(ref_sq).max()
        )


@pytest.mark.parametrize("reml", [True, False])
def test_score_is_the_gradient_of_the_loglikelihood(reml):
    """Central differences of the exact log-likelihood agree with the analytic gradient."""
    _, stats, k_fe, k_re, k_vc = _model("vc_multi", seed=5)
    fe, cov, vc = _point(np.random.default_rng(2), k_fe, k_re, k_vc)
    rows, cols = np.tril_indices(k_re)
    x0 = np.concatenate([fe, cov[rows, cols], vc])

    def f(x):
        psi = np.zeros((k_re, k_re))
        psi[rows, cols] = x[k_fe : k_fe + rows.size]
        psi = psi + psi.T - np.diag(np.diag(psi))
        return loglike_value(
            evaluate(stats, psi, x[k_fe + rows.size :]), x[:k_fe], stats.nobs, reml
        )

    h = 1e-5
    numeric = np.array([(f(x0 + h * e) - f(x0 - h * e)) / (2 * h) for e in np.eye(x0.size)])
    ours = derivatives(stats, cov, vc, fe, reml)
    got = np.concatenate([ours.score_fe, ours.score_var])
    np.testing.assert_allclose(got, numeric, rtol=1e-6, atol=1e-6 * np.abs(numeric).max())


def test_sqrt_jacobian_reads_the_cholesky_factor():
    cov = np.array([[2.0, 0.3], [0.3, 0.5]])
    vc = np.array([0.25, 4.0])
    jac, root = sqrt_jacobian(cov, vc)
    L = np.linalg.cholesky(cov)
    np.testing.assert_allclose(root, [L[0, 0], L[1, 0], L[1, 1], 0.5, 2.0])
    # d psi / d L by differences of L L'
    rows, cols = np.tril_indices(2)
    for k, (a, b) in enumerate(zip(rows, cols, strict=True)):
        step = np.zeros((2, 2))
        step[a, b] = 1e-6
        diff = ((L + step) @ (L + step).T - (L - step) @ (L - step).T) / 2e-6
        np.testing.assert_allclose(jac[:3, k], diff[rows, cols], atol=1e-8)
    np.testing.assert_allclose(np.diag(jac)[3:], [1.0, 4.0])


@pytest.mark.parametrize(("kind", "reml"), [("slopes", True), ("vc_multi", False)])
def test_exact_hessian_is_the_jacobian_of_the_score(kind, reml):
    """``exact=True``: the derivative of the gradient; statsmodels' matrix at GLS fe."""
    model, stats, k_fe, k_re, k_vc = _model(kind, seed=7)
    fe, cov, vc = _point(np.random.default_rng(4), k_fe, k_re, k_vc)
    rows, cols = np.tril_indices(k_re)
    x0 = np.concatenate([fe, cov[rows, cols], vc])

    def grad(x):
        psi = np.zeros((k_re, k_re))
        psi[rows, cols] = x[k_fe : k_fe + rows.size]
        psi = psi + psi.T - np.diag(np.diag(psi))
        d = derivatives(stats, psi, x[k_fe + rows.size :], x[:k_fe], reml)
        return np.concatenate([d.score_fe, d.score_var])

    h = 1e-6
    numeric = np.column_stack(
        [(grad(x0 + h * e) - grad(x0 - h * e)) / (2 * h) for e in np.eye(x0.size)]
    )
    exact = derivatives(stats, cov, vc, fe, reml, hessian=True, exact=True).hessian
    assert exact is not None
    scale = np.abs(numeric).max()
    np.testing.assert_allclose(exact, numeric, atol=1e-6 * scale)
    statsmodels_form = derivatives(stats, cov, vc, fe, reml, hessian=True).hessian
    assert statsmodels_form is not None
    assert np.abs(statsmodels_form - exact).max() > 1e-3 * scale  # off the GLS fe they differ
    # at the GLS fixed effects the two coincide
    gls = gls_fe(evaluate(stats, cov, vc))
    a = derivatives(stats, cov, vc, gls, reml, hessian=True, exact=True).hessian
    b = derivatives(stats, cov, vc, gls, reml, hessian=True).hessian
    assert a is not None
    assert b is not None
    np.testing.assert_allclose(a, b, atol=1e-9 * np.abs(b).max())
