"""us, diag and homdiag: the structures whose lambda entries are theta entries."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import load_reference, reference_data

import mixedmodels as mm
from mixedmodels.covariance import Diagonal, HomogeneousDiagonal, Unstructured
from mixedmodels.errors import SingularFitWarning


def _fit(formula, data, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return mm.lmer(formula, data, **kwargs)


def test_unstructured_is_lme4s_lower_triangle():
    us = Unstructured(3)
    rows, cols, index = us.linear_positions()
    assert rows.tolist() == [0, 1, 2, 1, 2, 2]
    assert cols.tolist() == [0, 0, 0, 1, 1, 2]
    assert index.tolist() == list(range(6))
    assert us.lower_bounds().tolist() == [0, -np.inf, -np.inf, 0, -np.inf, 0]
    theta = np.array([1.0, 0.3, -0.2, 0.8, 0.1, 0.5])
    lam = us.lambda_(theta)
    assert np.array_equal(lam[rows, cols], theta)
    assert np.array_equal(np.triu(lam, 1), np.zeros((3, 3)))
    np.testing.assert_allclose(us.from_natural(us.natural(theta)), theta, rtol=1e-14)


def test_diagonal_and_homogeneous_diagonal_lambdas():
    np.testing.assert_array_equal(Diagonal(3).lambda_([1.0, 2.0, 3.0]), np.diag([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(HomogeneousDiagonal(3).lambda_([2.0]), 2.0 * np.eye(3))
    assert HomogeneousDiagonal(4).n_theta == 1
    assert HomogeneousDiagonal(4).rescale(np.array([2.0]), np.full(4, 3.0)).tolist() == [6.0]


def test_diag_term_is_the_double_bar_model():
    sleep = mm.datasets.load("sleepstudy")
    double = _fit("Reaction ~ Days + (Days || Subject)", sleep)
    diag = _fit("Reaction ~ Days + diag(Days | Subject)", sleep)
    np.testing.assert_allclose(diag.theta, double.theta, rtol=1e-6)
    assert diag.objective == pytest.approx(double.objective, abs=1e-9)
    assert diag.model.theta_names == ("Subject.(Intercept)", "Subject.Days")
    assert list(diag.varcorr["var1"].iloc[:2]) == ["(Intercept)", "Days"]
    np.testing.assert_allclose(diag.varcorr["vcov"], double.varcorr["vcov"], rtol=1e-6)


@pytest.mark.parametrize("REML", [True, False])
def test_homdiag_of_a_nested_factor_is_lme4s_nested_intercept(REML):
    """homdiag(0 + cask | batch): an effect per batch:cask cell, one variance (1 | cask:batch)."""
    ref = load_reference("pastes")
    data = reference_data("pastes")
    nested = _fit("strength ~ 1 + (1 | batch/cask)", data, REML=REML)
    homdiag = _fit("strength ~ 1 + (1 | batch) + homdiag(0 + cask | batch)", data, REML=REML)
    if REML:
        assert homdiag.objective <= ref["objective"] + 1e-6
    assert homdiag.objective == pytest.approx(nested.objective, abs=1e-6)
    assert homdiag.sigma == pytest.approx(nested.sigma, rel=1e-5)
    assert homdiag.fixef.iloc[0] == pytest.approx(nested.fixef.iloc[0], rel=1e-8)
    assert homdiag.se.iloc[0] == pytest.approx(nested.se.iloc[0], rel=1e-5)
    vc = homdiag.varcorr
    casks = vc[vc["var1"].isin(["caska", "caskb", "caskc"])]
    assert len(casks) == 3
    np.testing.assert_allclose(casks["sdcor"], nested.varcorr["sdcor"].iloc[0], rtol=1e-5)
    assert not homdiag.is_singular


def test_homdiag_names_bounds_and_start():
    data = reference_data("pastes")
    model = mm.LinearMixedModel("strength ~ 1 + (1 | batch) + homdiag(0 + cask | batch)", data)
    assert model.n_theta == 2
    assert model.theta_names == ("batch.(Intercept)", "batch.homdiag")
    assert model.lower_bounds.tolist() == [0.0, 0.0]
    start = model.start_theta()
    assert start.shape == (2,)
    assert np.all(start > 0)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wald = model.fit().confint(method="Wald")  # the sd/cor parameters' rows, lme4's names
    assert wald.index[:3].tolist() == ["sd_(Intercept)|batch", "sd_homdiag|batch", "sigma"]


def test_homdiag_on_covariates_is_equivariant_under_a_common_scale():
    rng = np.random.default_rng(7)
    g = np.repeat(np.arange(30), 8)
    x1, x2 = rng.normal(size=g.size), rng.normal(size=g.size)
    b = rng.normal(scale=0.7, size=(30, 2))
    y = 1 + x1 + b[g, 0] * x1 + b[g, 1] * x2 + rng.normal(scale=0.5, size=g.size)
    data = pd.DataFrame({"y": y, "x1": x1, "x2": x2, "g": g})
    small = _fit("y ~ x1 + homdiag(0 + x1 + x2 | g)", data)
    big = _fit("y ~ x1 + homdiag(0 + x1 + x2 | g)", data.assign(x1=1e3 * x1, x2=1e3 * x2))
    # REML: log|R_X|^2 grows by 2 log(1000) with x1's column of X
    assert big.objective == pytest.approx(small.objective + 2 * np.log(1e3), abs=1e-6)
    np.testing.assert_allclose(big.theta * 1e3, small.theta, rtol=1e-5)
    np.testing.assert_allclose(big.sigma, small.sigma, rtol=1e-6)


def test_homdiag_with_no_variance_is_a_singular_fit():
    rng = np.random.default_rng(3)
    g = np.repeat(np.arange(20), 6)
    f = np.tile(["a", "b", "c"], 40)
    data = pd.DataFrame({"y": rng.normal(size=g.size), "g": g, "f": f})
    with pytest.warns(SingularFitWarning):
        fit = mm.lmer("y ~ 1 + homdiag(0 + f | g)", data)
    assert fit.is_singular
    assert fit.theta[0] < 1e-4


def test_homdiag_inference_equals_the_nested_models():
    """Kenward-Roger, Satterthwaite and the profile of homdiag(0 + cask | batch) are lme4's."""
    ref = load_reference("pastes")
    data = reference_data("pastes")
    homdiag = _fit("strength ~ 1 + (1 | batch) + homdiag(0 + cask | batch)", data)
    from mixedmodels.inference.tests import coef_table

    kr = coef_table(homdiag, ddf="Kenward-Roger")
    assert kr["df"].iloc[0] == pytest.approx(ref["kenward_roger_df"]["(Intercept)"], rel=1e-6)
    satterthwaite = coef_table(homdiag, ddf="Satterthwaite")
    assert satterthwaite["df"].iloc[0] == pytest.approx(
        ref["satterthwaite_df"]["(Intercept)"], rel=1e-5
    )
    nested = _fit("strength ~ 1 + (1 | batch/cask)", data)
    ours = homdiag.confint("profile")
    theirs = nested.confint("profile")
    np.testing.assert_allclose(
        ours.loc["sd_homdiag|batch"], theirs.loc["sd_(Intercept)|cask:batch"], rtol=1e-4
    )
    np.testing.assert_allclose(ours.loc["sigma"], theirs.loc["sigma"], rtol=1e-4)
