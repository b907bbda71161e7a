"""``params``, ``bse``, ``tvalues``, ``pvalues`` and ``cov_params()`` in statsmodels' order
(patsy's term order) when the formula has categorical terms, against statsmodels 0.15."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sm_results_fits import NAMES, assert_cov_close, pair

import mixedmodels.compat.statsmodels as sm
from mixedmodels import datasets

smapi = pytest.importorskip("statsmodels.api")


@pytest.mark.parametrize("name", NAMES)
def test_labels_in_statsmodels_order(name):
    p = pair(name)
    for attr in ("params", "bse", "tvalues", "pvalues"):
        assert list(getattr(p.ours, attr).index) == list(getattr(p.theirs, attr).index), attr
    ours, theirs = p.ours.cov_params(), p.theirs.cov_params()
    assert list(ours.index) == list(theirs.index)
    assert list(ours.columns) == list(theirs.columns)
    assert list(p.ours.model.exog_names) == list(p.theirs.model.exog_names)
    np.testing.assert_allclose(p.ours.model.exog, p.theirs.model.exog, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_values_at_the_same_optimum(name):
    p = pair(name)
    # statsmodels restarted at our estimates stays there: same criterion to rounding
    assert abs(p.ours.llf - p.at_ours.llf) < 1e-8
    np.testing.assert_allclose(p.ours.params, p.at_ours.params, rtol=1e-6, atol=1e-6)
    # standard errors: our central differences against statsmodels' analytic Hessian
    np.testing.assert_allclose(p.ours.bse, p.at_ours.bse, rtol=1e-5)
    np.testing.assert_allclose(p.ours.tvalues, p.at_ours.tvalues, rtol=1e-5)
    np.testing.assert_allclose(p.ours.pvalues, p.at_ours.pvalues, rtol=1e-4, atol=1e-12)
    assert_cov_close(p.ours.cov_params(), p.at_ours.cov_params())


@pytest.mark.parametrize("name", NAMES)
def test_never_worse_than_statsmodels(name):
    p = pair(name)
    assert p.ours.llf >= p.theirs.llf - 1e-8


def test_statsmodels_stops_short_on_the_ml_categorical_model():
    # statsmodels' BFGS stops 0.41 short in log-likelihood here (it reports convergence);
    # restarted from our optimum it agrees with ours
    p = pair("categorical_ml")
    assert p.ours.llf - p.theirs.llf > 0.1
    assert abs(p.ours.llf - p.at_ours.llf) < 1e-8


def test_patsy_order_groups_terms_by_numeric_factors():
    data = datasets.load("dietox").dropna()
    formula = "Weight ~ Time:Feed + Start + Cu:Time + C(Evit) * Cu"
    ours = sm.MixedLM.from_formula(formula, data, groups=data["Pig"]).exog_names
    expected = smapi.MixedLM.from_formula(formula, data, groups=data["Pig"]).exog_names
    assert list(ours) == list(expected)


def test_predict_on_new_data_uses_the_reordered_columns():
    p = pair("categorical")
    new = p.data.iloc[:15]
    np.testing.assert_allclose(p.ours.predict(new), p.at_ours.predict(new), rtol=1e-8)
    assert isinstance(p.ours.predict(new), pd.Series)


def test_array_interface_keeps_the_given_order():
    data = datasets.load("dietox").dropna()
    exog = pd.DataFrame({"b": data["Time"], "a": 1.0})
    result = sm.MixedLM(data["Weight"], exog, data["Pig"]).fit()
    assert list(result.params.index[:2]) == ["b", "a"]
