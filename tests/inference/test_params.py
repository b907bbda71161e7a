"""lme4's sd/cor/sigma parameters and back to theta (mixedmodels.inference._params.SdCorMap)."""

from __future__ import annotations

import numpy as np
import pytest

import mixedmodels as mm
from mixedmodels.inference._params import SdCorMap


@pytest.fixture(scope="module")
def fit():
    return mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))


def test_names_are_lme4s(fit):
    names = SdCorMap(fit.design.terms).names
    assert names == (
        "sd_(Intercept)|Subject",
        "cor_Days.(Intercept)|Subject",
        "sd_Days|Subject",
        "sigma",
    )


def test_sdcor_are_the_fits_variance_components(fit):
    pars = SdCorMap(fit.design.terms).to_sdcor(fit.theta, fit.sigma)
    vc = fit.varcorr.set_index(["var1", "var2"], drop=False)
    sd_intercept = vc["sdcor"].iloc[0]
    sd_days = vc["sdcor"].iloc[1]
    correlation = vc["sdcor"].iloc[2]
    np.testing.assert_allclose(pars, [sd_intercept, correlation, sd_days, fit.sigma], rtol=1e-10)


def test_to_theta_inverts_to_sdcor(fit):
    mapping = SdCorMap(fit.design.terms)
    pars = mapping.to_sdcor(fit.theta, fit.sigma)
    np.testing.assert_allclose(mapping.to_theta(pars), fit.theta, rtol=1e-10)


def test_impossible_parameters_have_no_theta(fit):
    mapping = SdCorMap(fit.design.terms)
    assert mapping.to_theta(np.array([20.0, 0.1, 5.0, 0.0])) is None  # sigma must be positive
    assert mapping.to_theta(np.array([20.0, 1.5, 5.0, 25.0])) is None  # |cor| > 1


def test_bounds_of_sds_correlations_and_sigma(fit):
    lower, upper = SdCorMap(fit.design.terms).bounds()
    assert lower.tolist() == [0.0, -1.0, 0.0, 0.0]
    assert upper.tolist() == [np.inf, 1.0, np.inf, np.inf]


def test_a_structured_term_lists_sds_then_its_correlation_parameter():
    fit = mm.lmer("Reaction ~ Days + ar1(0 + C(Days) | Subject)", mm.datasets.load("sleepstudy"))
    mapping = SdCorMap(fit.design.terms)
    assert mapping.names[-1] == "sigma"
    assert len(mapping.names) == fit.theta.size + 1
    pars = mapping.to_sdcor(fit.theta, fit.sigma)
    np.testing.assert_allclose(mapping.to_theta(pars), fit.theta, rtol=1e-8)
