"""A fitted GLMM's estimates and criteria (mixedmodels.glmm.results), against lme4 on cbpp."""

from __future__ import annotations

import numpy as np
import pytest

import mixedmodels as mm
from mixedmodels.glmm import glmer
from mixedmodels.glmm.results import GlmerResult

from ._helpers import reference

REF = reference("cbpp")


@pytest.fixture(scope="module")
def fit():
    return glmer(REF["formula"], mm.datasets.load("cbpp"), family="binomial")


def test_criteria_are_lme4s(fit):
    assert isinstance(fit, GlmerResult)
    assert fit.minus2loglik == pytest.approx(REF["minus2loglik"], abs=1e-3)
    assert fit.loglik == pytest.approx(-fit.minus2loglik / 2)
    assert fit.df == REF["df"]
    assert fit.aic == pytest.approx(fit.minus2loglik + 2 * fit.df)
    assert fit.bic == pytest.approx(fit.minus2loglik + np.log(fit.nobs) * fit.df)
    assert fit.aic == pytest.approx(REF["aic"], abs=1e-3)
    assert fit.deviance == pytest.approx(REF["deviance"], abs=1e-2)
    assert fit.nobs == REF["nobs"]
    assert fit.ngrps == {"herd": 15}
    assert not fit.reml
    assert fit.sigma == 1.0


def test_estimates_and_their_covariance_are_lme4s(fit):
    np.testing.assert_allclose(np.asarray(fit.fixef), list(REF["fixef"].values()), rtol=1e-3)
    # both from finite-difference Hessians of -2 log L, by other steps: within 3%
    np.testing.assert_allclose(fit.vcov.to_numpy(), REF["vcov"], rtol=3e-2)
    np.testing.assert_array_equal(fit.vcov, fit.vcov_matrix(use_hessian=True))
    np.testing.assert_array_equal(fit.vcov_matrix(use_hessian=False), fit.rx_vcov)
    np.testing.assert_allclose(fit.se, np.sqrt(np.diag(fit.vcov.to_numpy())), rtol=1e-12)
    table = fit.coef_table
    np.testing.assert_allclose(table.iloc[:, 0], fit.fixef, rtol=1e-12)
    np.testing.assert_allclose(table.iloc[:, 2], fit.fixef / fit.se, rtol=1e-10)


def test_variance_components_and_random_effects_are_lme4s(fit):
    vc = fit.varcorr
    assert vc.loc[0, "sdcor"] == pytest.approx(REF["varcorr"][0]["sdcor"], rel=1e-3)
    assert vc.loc[0, "vcov"] == pytest.approx(vc.loc[0, "sdcor"] ** 2, rel=1e-12)
    ranef = fit.ranef["herd"].iloc[:, 0].to_numpy()
    expected = [r["condval"] for r in REF["ranef"]]
    np.testing.assert_allclose(ranef, expected, atol=2e-3)
    condsd = np.sqrt(fit.condvar["herd"].ravel())
    np.testing.assert_allclose(condsd, [r["condsd"] for r in REF["ranef"]], rtol=2e-2)


def test_linear_predictor_fitted_values_and_residuals(fit):
    eta = fit.linear_predictor.to_numpy()
    np.testing.assert_allclose(eta[:10], REF["eta_head"], atol=2e-3)
    mu = fit.fitted.to_numpy()
    np.testing.assert_allclose(mu, 1 / (1 + np.exp(-eta)), rtol=1e-12)
    np.testing.assert_allclose(mu[:10], REF["fitted_head"], atol=5e-4)
    data = mm.datasets.load("cbpp")
    y = (data["incidence"] / data["size"]).to_numpy()
    np.testing.assert_allclose(fit.residuals("response"), y - mu, rtol=1e-10, atol=1e-12)
    pearson = (y - mu) / np.sqrt(mu * (1 - mu) / data["size"].to_numpy())
    np.testing.assert_allclose(fit.residuals("pearson"), pearson, rtol=1e-10)


def test_coef_adds_the_random_effects_to_the_fixed_ones(fit):
    coef = fit.coef["herd"]
    np.testing.assert_allclose(
        coef["(Intercept)"].to_numpy(), fit.fixef["(Intercept)"] + fit.ranef["herd"].iloc[:, 0]
    )
    np.testing.assert_allclose(coef["period2"].to_numpy(), fit.fixef["period2"])


def test_predict_on_the_link_and_response_scales(fit):
    rows = mm.datasets.load("cbpp").head(5)
    eta = fit.predict(rows)
    np.testing.assert_allclose(eta, fit.linear_predictor.to_numpy()[:5], rtol=1e-10)
    np.testing.assert_allclose(fit.predict(rows, type="response"), 1 / (1 + np.exp(-eta)))
