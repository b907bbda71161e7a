"""nAGQ = 0, quadrature with several nodes, Gamma, glmer.nb, predictions and residuals
against lme4 (tests/glmm/reference/extra_*.json, made by make_extra.R)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm

from ._helpers import LOCAL_REFERENCE, reference

CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"


def _fixef(ref):
    return np.array(list(ref["fixef"].values()))


@pytest.mark.parametrize("n_agq", [0, 2, 5, 12, 25])
def test_nagq_matches_lme4(n_agq):
    ref = reference("extra_cbpp_nagq0" if n_agq == 0 else f"extra_cbpp_agq{n_agq}")
    fit = mm.glmer(CBPP, mm.datasets.load("cbpp"), nAGQ=n_agq)
    # lme4's logLik for nAGQ > 1 leaves out the saturated model's -2 log L (a constant)
    saturated = 0.0 if n_agq < 2 else reference("cbpp_agq9")["agq_saturated_correction"]
    assert fit.minus2loglik <= ref["minus2loglik_lme4"] + saturated + 1e-6
    assert fit.minus2loglik == pytest.approx(ref["minus2loglik_lme4"] + saturated, abs=1e-5)
    np.testing.assert_allclose(fit.beta, _fixef(ref), rtol=1e-5)
    np.testing.assert_allclose(fit.theta, ref["theta"], atol=1e-5)
    if n_agq:
        np.testing.assert_allclose(fit.se, list(ref["se"].values()), rtol=2e-3)


def test_more_nodes_converge():
    data = mm.datasets.load("cbpp")
    values = [mm.glmer(CBPP, data, nAGQ=k).minus2loglik for k in (5, 12, 25)]
    assert abs(values[1] - values[2]) < 1e-6 < abs(values[0] - values[2])


def test_gamma_log_link_matches_lme4():
    ref = reference("extra_gamma_log")
    data = pd.read_csv(LOCAL_REFERENCE / "gamma_data.csv")
    data["g"] = data["g"].astype("category")
    fit = mm.glmer("y ~ x + (1 | g)", data, family="Gamma", link="log")
    assert fit.minus2loglik <= ref["minus2loglik_lme4"] + 1e-4
    np.testing.assert_allclose(fit.beta, _fixef(ref), rtol=1e-3)
    np.testing.assert_allclose(fit.theta, ref["theta"], atol=1e-3)
    assert fit.sigma == pytest.approx(ref["sigma"], rel=1e-3)
    assert fit.df == 4  # two fixed effects, theta and the scale


def test_glmer_nb_matches_lme4():
    ref = reference("extra_grouseticks_nb")
    fit = mm.glmer_nb(ref["formula"], mm.datasets.load("grouseticks"))
    assert fit.minus2loglik <= ref["minus2loglik_lme4"] + 1e-4
    assert fit.family.theta == pytest.approx(ref["nb_theta"], rel=1e-3)
    np.testing.assert_allclose(fit.beta, _fixef(ref), rtol=1e-3)
    np.testing.assert_allclose(fit.theta, ref["theta"], atol=1e-3)
    np.testing.assert_allclose(fit.se, list(ref["se"].values()), rtol=1e-2)


@pytest.fixture(scope="module")
def cbpp_fit():
    return mm.glmer(CBPP, mm.datasets.load("cbpp"))


def test_predictions_match_lme4(cbpp_fit):
    ref = reference("extra_cbpp_predict")
    newdata = mm.datasets.load("cbpp").iloc[ref["rows"]]
    np.testing.assert_allclose(cbpp_fit.predict(newdata), ref["predict_link"], rtol=1e-3)
    np.testing.assert_allclose(
        cbpp_fit.predict(newdata, type="response"), ref["predict_response"], rtol=1e-3
    )
    np.testing.assert_allclose(
        cbpp_fit.predict(newdata, type="response", re_form="~0"), ref["predict_fixed"], rtol=1e-3
    )
    np.testing.assert_allclose(cbpp_fit.predict(), cbpp_fit.linear_predictor)


@pytest.mark.parametrize("kind", ["deviance", "pearson", "working", "response"])
def test_residuals_match_lme4(cbpp_fit, kind):
    ref = reference("extra_cbpp_predict")
    np.testing.assert_allclose(cbpp_fit.residuals(kind), ref[f"resid_{kind}"], rtol=2e-3, atol=2e-4)


def test_new_levels_need_permission(cbpp_fit):
    newdata = mm.datasets.load("cbpp").iloc[:2].copy()
    newdata["herd"] = ["99", "99"]
    with pytest.raises(mm.DesignError, match="new levels of 'herd'"):
        cbpp_fit.predict(newdata)
    fixed = cbpp_fit.predict(newdata.assign(herd=["1", "1"]), re_form="~0")
    np.testing.assert_allclose(cbpp_fit.predict(newdata, allow_new_levels=True), fixed)
