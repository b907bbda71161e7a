"""Nakagawa's R2 and the ICC of glmer fits against performance 0.10.2 / insight 0.19.0.

Five GLMMs (make_glmm.R): cbpp binomial logit, with an observation-level random effect, and
probit; grouseticks Poisson with an observation-level effect and two crossed factors; owls
Poisson with an offset. At lme4's estimates (and lme4's null model) the definitions are
checked to rounding; at our own optimum the refitted null model is at least as good as lme4's.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _postfit_glmm import (
    MODELS,
    POISSON,
    at_reference,
    fit,
    null_at_reference,
    reference,
    result_at,
    vector,
)
from scipy import special

import mixedmodels as mm
from mixedmodels.errors import InferenceError
from mixedmodels.summaries import icc, r2_nakagawa, variance_components
from mixedmodels.summaries.r2_glmm import distribution_variance, null_model


def _quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


@pytest.mark.parametrize("name", MODELS)
def test_variances_match_insight_at_lme4_estimates(name):
    want = reference(name)["variance"]
    v = _quiet(variance_components, at_reference(name), null=null_at_reference(name))
    assert v.fixed == pytest.approx(want["var.fixed"], rel=1e-9)
    assert v.random == pytest.approx(want["var.random"], rel=1e-9)
    assert v.distribution == pytest.approx(want["var.distribution"], rel=1e-9)
    assert v.dispersion == pytest.approx(want["var.dispersion"], rel=1e-9, abs=1e-15)
    assert v.residual == pytest.approx(want["var.residual"], rel=1e-9)
    # insight's var.intercept: every term's variance, observation-level ones too
    assert sorted(v.by_term.values()) == pytest.approx(
        sorted(vector(want["var.intercept"])), rel=1e-9
    )


@pytest.mark.parametrize("name", MODELS)
def test_r2_and_icc_match_performance_at_lme4_estimates(name):
    ref = reference(name)
    result, null = at_reference(name), null_at_reference(name)
    r2 = _quiet(r2_nakagawa, result, null=null)
    got_icc = _quiet(icc, result, null=null)
    for key in ("R2_conditional", "R2_marginal"):
        assert r2[key] == pytest.approx(ref["r2"][key], rel=1e-9), key
    for key in ("ICC_adjusted", "ICC_unadjusted"):
        assert got_icc[key] == pytest.approx(ref["icc"][key], rel=1e-9), key


@pytest.mark.parametrize("name", POISSON)
@pytest.mark.parametrize("approximation", ["lognormal", "delta", "trigamma"])
def test_poisson_approximations_of_the_null_mean(name, approximation):
    """lognormal is insight's; delta 1/mu and trigamma psi_1(mu) as Nakagawa et al. (2017),
    at lme4's null-model mean (R computed all three)."""
    ref = reference(name)["null"]
    got = _quiet(distribution_variance, at_reference(name), null_at_reference(name), approximation)
    assert got == pytest.approx(ref[approximation], rel=1e-12)
    assert ref["trigamma"] == pytest.approx(float(special.polygamma(1, ref["mu"])), rel=1e-12)


def test_poisson_mean_below_six_warns_as_performance():
    with pytest.warns(UserWarning, match="too close to zero"):
        distribution_variance(at_reference("owls"), null_at_reference("owls"))


@pytest.mark.parametrize("name", POISSON)
def test_null_model_refit_is_at_least_as_good_as_lme4s(name):
    """insight's null model (intercept, same random terms, the offset) refitted by us."""
    ref = reference(name)["null"]
    null = _quiet(null_model, fit(name))
    assert null.model.formula.replace(" ", "").startswith(
        ref["formula"].split("~")[0].replace(" ", "")
    )
    assert list(null.fixef.index) == ["(Intercept)"]
    at_r = result_at_null(null, ref)
    assert null.minus2loglik <= at_r + 1e-6
    assert float(null.fixef.iloc[0]) == pytest.approx(ref["beta"], abs=5e-3)


def result_at_null(null, ref) -> float:
    return float(null.model.objective(vector(ref["theta"]), vector(ref["beta"]), nAGQ=1))


@pytest.mark.parametrize("name", MODELS)
def test_r2_at_our_optimum_close_to_performance(name):
    """Our optimum and null model differ from lme4's (both ours are as good or better)."""
    ref = reference(name)
    got = _quiet(fit(name).r2)
    for key, value in got.items():
        assert value == pytest.approx(ref["r2"][key], rel=2e-3), key
    got = _quiet(fit(name).icc)
    for key, value in got.items():
        assert value == pytest.approx(ref["icc"][key], rel=2e-3), key


def test_observation_level_effect_goes_to_the_residual():
    v = _quiet(variance_components, at_reference("cbpp_obs"))
    assert v.by_term["obs"] == pytest.approx(v.dispersion)
    assert v.random == pytest.approx(v.by_term["herd"])
    assert v.residual == pytest.approx(np.pi**2 / 3 + v.dispersion)


def test_singular_fit_has_no_conditional_r2_nor_icc():
    """insight drops the random variances of a fit with theta below 1e-5 (a warning, NaN)."""
    base = at_reference("cbpp")
    singular = result_at(base.model, [1e-7], base.beta)
    v = _quiet(variance_components, singular)
    with pytest.warns(UserWarning, match="singular"):
        r2 = r2_nakagawa(singular)
    assert np.isnan(r2["R2_conditional"])
    assert r2["R2_marginal"] == pytest.approx(v.fixed / (v.fixed + v.residual))
    with pytest.warns(UserWarning, match="singular"):
        assert np.isnan(icc(singular)["ICC_adjusted"])


def test_bad_approximation_and_unsupported_families():
    with pytest.raises(InferenceError, match="approximation must be one of"):
        distribution_variance(at_reference("cbpp"), approximation="exact")
    gamma = _FamilyStandIn(mm.glmm.families.get_family("Gamma", "log"))
    with pytest.raises(InferenceError, match="binomial and Poisson"):
        distribution_variance(gamma)
    with pytest.raises(InferenceError, match="logit, probit or cloglog"):
        distribution_variance(_FamilyStandIn(mm.glmm.families.get_family("binomial", "log")))


class _FamilyStandIn:
    def __init__(self, family):
        self.family = family
