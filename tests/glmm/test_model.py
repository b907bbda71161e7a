"""A GLMM before its fit: objective, lambdas, starts and derived models (glmm.model)."""

from __future__ import annotations

import numpy as np
import pytest

import mixedmodels as mm
from mixedmodels.errors import DesignError
from mixedmodels.glmm.families import NegativeBinomial
from mixedmodels.glmm.model import GeneralizedLinearMixedModel, glmer

from ._helpers import reference

REF = reference("cbpp")
BETA = np.asarray(list(REF["fixef"].values()))
THETA = np.asarray(REF["theta"])


@pytest.fixture(scope="module")
def model():
    return GeneralizedLinearMixedModel(REF["formula"], mm.datasets.load("cbpp"), family="binomial")


def test_the_model_describes_its_parameters(model):
    assert model.n_theta == 1
    assert model.n_fixed == 4
    assert model.theta_names == ("herd.(Intercept)",)
    assert model.formula == REF["formula"]
    np.testing.assert_array_equal(model.lambdas(THETA)[0], [[THETA[0]]])
    assert model.lower_bounds.tolist() == [0.0]


def test_the_laplace_objective_at_lme4s_estimates(model):
    value = model.objective(THETA, BETA)
    assert value == pytest.approx(REF["minus2loglik"], abs=1e-3)
    worse = model.objective(THETA * 1.5, BETA)
    assert worse > value


def test_quadrature_and_nagq0(model):
    laplace = model.objective(THETA, BETA, nAGQ=1)
    agq = model.objective(THETA, BETA, nAGQ=9)
    assert agq != laplace
    assert agq == pytest.approx(laplace, abs=0.5)
    profiled = model.objective(THETA, nAGQ=0)  # the Laplace value at beta from PIRLS
    joint_beta = model.mode(THETA, None, joint=True).beta
    assert profiled == pytest.approx(model.objective(THETA, joint_beta), rel=1e-9)


def test_bad_objective_arguments_are_named(model):
    with pytest.raises(DesignError, match="theta must have 1 entries"):
        model.objective(np.ones(2), BETA)
    with pytest.raises(DesignError, match="beta is needed"):
        model.objective(THETA)
    with pytest.raises(DesignError, match="beta must have 4 entries"):
        model.objective(THETA, np.ones(3))


def test_the_glm_start_is_the_glm_fit(model):
    sm = pytest.importorskip("statsmodels.api")

    data = mm.datasets.load("cbpp")
    endog = np.column_stack([data["incidence"], data["size"] - data["incidence"]])
    glm = sm.GLM(endog, model.design.X, family=sm.families.Binomial()).fit()
    np.testing.assert_allclose(model.glm_beta, glm.params, rtol=1e-6)
    assert model.start_theta().shape == (1,)


def test_with_response_refits_the_same_design(model):
    fit = model.fit()
    again = model.with_response(model.data.y).fit()
    assert again.objective == pytest.approx(fit.objective, abs=1e-8)
    with pytest.raises(DesignError, match="y must have shape"):
        model.with_response(np.ones(3))


def test_with_family_changes_only_the_family():
    ref = reference("extra_grouseticks_nb")
    data = mm.datasets.load("grouseticks")
    base = GeneralizedLinearMixedModel(ref["formula"], data, family=NegativeBinomial(theta=1.0))
    other = base.with_family(NegativeBinomial(theta=ref["nb_theta"]))
    direct = glmer(ref["formula"], data, family=NegativeBinomial(theta=ref["nb_theta"]))
    assert other.fit().minus2loglik == pytest.approx(direct.minus2loglik, abs=1e-6)
