"""The rest of the public MixedLM / MixedLMResults surface, against statsmodels 0.15."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sm_results_fits import pair, smapi

import mixedmodels.compat.statsmodels as sm
from mixedmodels import datasets


@pytest.mark.parametrize("name", ["vc", "slope_reml", "sitka_arrays"])
def test_per_group_lists_and_counts(name):
    p = pair(name)
    ours, theirs = p.ours.model, p.theirs.model
    assert ours.k_params == theirs.k_params
    assert ours.re_pen is None
    assert theirs.re_pen is None
    for attr in ("endog_li", "exog_li", "exog_re_li", "exog_re2_li"):
        mine, other = getattr(ours, attr), getattr(theirs, attr)
        assert len(mine) == len(other)
        for a, b in zip(mine, other, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-14)
    split = ours.group_list(np.arange(ours.nobs))
    assert [x.tolist() for x in split] == [
        x.tolist() for x in theirs.group_list(np.arange(ours.nobs))
    ]
    assert ours.group_list(None) is None


def test_exog_vc_as_statsmodels_vcspec():
    p = pair("vc")
    ours, theirs = p.ours.model.exog_vc, p.theirs.model.exog_vc
    assert ours.names == theirs.names
    assert ours.colnames == theirs.colnames
    for mine, other in zip(ours.mats, theirs.mats, strict=True):
        for a, b in zip(mine, other, strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["vc", "slope_reml", "slope_ml"])
@pytest.mark.parametrize("calc_fe", [True, False])
def test_score_full_and_score_sqrt(name, calc_fe):
    p = pair(name)
    point = p.at_ours.params_object.copy()
    point.fe_params = np.asarray(point.fe_params) + 0.1  # away from the GLS estimate
    for method in ("score_full", "score_sqrt"):
        ours = getattr(p.ours.model, method)(point, calc_fe=calc_fe)
        theirs = getattr(p.theirs.model, method)(point, calc_fe=calc_fe)
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)


def test_information_initialize_and_result_methods_as_statsmodels():
    p = pair("slope_reml")
    for fit in (p.ours, p.theirs):
        with pytest.raises(NotImplementedError):
            fit.model.information(fit.params)
        assert fit.model.initialize() is None
        with pytest.raises(AttributeError, match="exog"):
            fit.bootstrap(nrep=2)
        with pytest.raises(NotImplementedError):
            fit.get_nlfun(lambda x: x)


@pytest.mark.parametrize("name", ["slope_reml", "vc"])
def test_hessv_is_the_models_hessian_at_params(name):
    """statsmodels' hessv reads params as the model's packed parameters (with use_sqrt, as
    square roots): the same point here; the variance block is exact in both."""
    p = pair(name)
    ours, ours_sing = p.ours.hessv
    theirs, theirs_sing = p.theirs.model.hessian(np.asarray(p.ours.params))
    assert ours_sing == theirs_sing
    k = p.ours.k_fe
    scale = np.abs(theirs[k:, k:]).max()
    np.testing.assert_allclose(ours[k:, k:], theirs[k:, k:], rtol=1e-6, atol=1e-9 * scale)


def test_hessv_without_sqrt_is_statsmodels_hessian():
    data = datasets.load("sitka")
    exog = np.column_stack([np.ones(len(data)), data["Time"] / 100.0])
    args = (data["size"].to_numpy(), exog, data["tree"].to_numpy())
    ours = sm.MixedLM(*args, use_sqrt=False).fit()
    theirs = smapi.MixedLM(*args, use_sqrt=False)
    theirs.reml = True
    expected = theirs.hessian(np.asarray(ours.params))[0]  # what hessv is at our params
    np.testing.assert_allclose(ours.hessv[0], expected, rtol=1e-7, atol=1e-9)
    assert isinstance(ours.cov_re_unscaled, np.ndarray)
    assert isinstance(ours.normalized_cov_params, np.ndarray)


def test_unscaled_covariances_are_labelled_as_statsmodels():
    p = pair("slope_reml")
    for attr in ("cov_re_unscaled", "normalized_cov_params"):
        mine, other = getattr(p.ours, attr), getattr(p.at_ours, attr)
        assert isinstance(mine, pd.DataFrame)
        assert list(mine.index) == list(other.index)
        assert list(mine.columns) == list(other.columns)
    np.testing.assert_allclose(p.ours.cov_re_unscaled, p.at_ours.cov_re_unscaled, rtol=1e-5)


def test_get_distribution_simulates_the_model():
    """Draws have the model's mean and per-row variance (scale + cov_re + vcomp)."""
    p = pair("vc")
    fit = p.ours
    dist = fit.model.get_distribution(np.asarray(fit.params), fit.scale, None)
    draws = np.array([dist.rvs(fit.nobs, rng=seed) for seed in range(400)])
    assert draws.shape == (400, fit.nobs)
    np.testing.assert_allclose(
        draws.mean(axis=0)[:5], fit.model.exog[:5] @ np.asarray(fit.fe_params), atol=1.5
    )
    expected = fit.scale + float(fit.cov_re.iloc[0, 0]) + float(fit.vcomp[0])
    assert draws.var(axis=0).mean() == pytest.approx(expected, rel=0.15)
    np.testing.assert_array_equal(dist.rvs(1, rng=7), dist.rvs(1, rng=7))
