"""``MixedLM.fit_regularized`` against statsmodels 0.15.

Compared where statsmodels' implementation holds: the array interface (statsmodels fails on
a formula model) with ``use_sqrt=False`` (with True statsmodels reads the variance
parameters as Cholesky entries in its Hessian). statsmodels' unpenalised fit is run to
``gtol=1e-10`` so that both start the coordinate descent from the same optimum. Its ``llf``
is evaluated with the data-scale ``cov_re`` where its log-likelihood expects it relative to
the scale, so ours is compared with statsmodels' log-likelihood at the estimates instead.
"""

from __future__ import annotations

import warnings
from functools import cache

import numpy as np
import pytest

import mixedmodels.compat.statsmodels as sm
from mixedmodels import datasets

smapi = pytest.importorskip("statsmodels.api")
from statsmodels.base._penalties import L2  # noqa: E402
from statsmodels.regression.mixed_linear_model import (  # noqa: E402
    MixedLMParams as StatsmodelsParams,
)

ALPHAS = {"10": 10.0, "300": 300.0, "3000": 3000.0, "vector": (0.0, 50.0, 400.0)}


@cache
def _arrays():
    data = datasets.load("dietox")
    exog = np.column_stack(
        [np.ones(len(data)), data["Time"].astype(float), data["Start"].astype(float)]
    )
    return data, data["Weight"].to_numpy(), exog, data["Pig"].to_numpy()


@cache
def fitted(name: str):
    _, y, exog, groups = _arrays()
    alpha = ALPHAS[name]
    ours = sm.MixedLM(y, exog, groups, exog[:, :1]).fit_regularized(alpha=alpha)
    model = smapi.MixedLM(y, exog, groups, exog[:, :1], use_sqrt=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        weights = alpha if np.isscalar(alpha) else np.asarray(alpha)
        theirs = model.fit_regularized(alpha=weights, gtol=1e-10)
    return ours, theirs, model


@pytest.mark.parametrize("name", ALPHAS)
def test_estimates_and_standard_errors_as_statsmodels(name):
    ours, theirs, _ = fitted(name)
    np.testing.assert_allclose(ours.params, theirs.params, atol=1e-6)
    assert (np.asarray(ours.fe_params) == 0).sum() == (theirs.fe_params == 0).sum()
    np.testing.assert_array_equal(np.isnan(ours.bse), np.isnan(theirs.bse))
    ok = ~np.isnan(theirs.bse)
    np.testing.assert_allclose(np.asarray(ours.bse)[ok], theirs.bse[ok], rtol=1e-5)
    assert ours.scale == pytest.approx(theirs.scale, rel=1e-8)
    np.testing.assert_allclose(np.asarray(ours.cov_re), theirs.cov_re, rtol=1e-6)
    np.testing.assert_allclose(ours.fittedvalues, theirs.fittedvalues, atol=1e-6)
    label = ours.model.group_labels[0]
    np.testing.assert_allclose(
        ours.random_effects[label].to_numpy(), theirs.random_effects[label].to_numpy(), atol=1e-6
    )
    assert ours.converged


@pytest.mark.parametrize("name", ALPHAS)
def test_llf_is_the_log_likelihood_at_the_estimates(name):
    ours, theirs, model = fitted(name)
    point = StatsmodelsParams.from_components(
        theirs.fe_params, cov_re=theirs.cov_re_unscaled, vcomp=np.zeros(0)
    )
    assert ours.llf == pytest.approx(model.loglike(point, profile_fe=False), abs=1e-5)


def test_the_shrunk_estimates_solve_the_lasso():
    """Against a brute-force check: no coordinate move lowers the penalised criterion."""
    ours, _, _ = fitted("300")
    pa = ours.unpenalised.params_object
    design, y = ours.model.exog, ours.model.endog

    def criterion(fe):
        total = 0.0
        for i in range(ours.model.n_groups):
            rows = ours.model.layout.groups == i
            v = ours.unpenalised.scale * (np.eye(rows.sum()) + pa.cov_re[0, 0])
            r = y[rows] - design[rows] @ fe
            total += r @ np.linalg.solve(v, r)
        return total + 300.0 * np.abs(fe).sum()

    best = np.asarray(ours.fe_params)
    for j in range(best.size):
        for step in (-1e-4, 1e-4):
            moved = best.copy()
            moved[j] += step
            assert criterion(moved) > criterion(best)


def test_formula_models_and_other_methods():
    data, y, exog, groups = _arrays()
    formula = sm.MixedLM.from_formula("Weight ~ Time + Start", data, groups="Pig")
    ours = formula.fit_regularized(alpha=10.0)  # statsmodels: KeyError on a pandas model
    np.testing.assert_allclose(np.asarray(ours.params), fitted("10")[0].params, atol=1e-12)
    assert "Intercept" in ours.summary().as_text()
    with pytest.raises(ValueError, match="Invalid regularization method"):
        formula.fit_regularized(method="l2")
    penalty = L2()
    smooth = formula.fit_regularized(method=penalty, alpha=10.0)
    assert penalty.alpha == 10.0
    again = sm.MixedLM.from_formula("Weight ~ Time + Start", data, groups="Pig")
    np.testing.assert_allclose(smooth.params, again.fit(fe_pen=penalty).params, atol=1e-9)
    sqrt_model = sm.MixedLM(y, exog, groups, exog[:, :1], use_sqrt=True)
    np.testing.assert_allclose(
        sqrt_model.fit_regularized(alpha=10.0).bse, fitted("10")[0].bse, rtol=1e-9
    )
