"""Negative binomial GLMMs with the shape estimated (mixedmodels.glmm.negbin.glmer_nb).

On lme4's ``glmer.nb`` fit of grouseticks (tests/glmm/reference/extra_grouseticks_nb.json).
"""

from __future__ import annotations

import numpy as np
import pytest

import mixedmodels as mm
from mixedmodels.glmm import glmer
from mixedmodels.glmm.families import NegativeBinomial
from mixedmodels.glmm.negbin import NB_THETA_BOUNDS, glmer_nb

from ._helpers import reference

REF = reference("extra_grouseticks_nb")


@pytest.fixture(scope="module")
def fit():
    return glmer_nb(REF["formula"], mm.datasets.load("grouseticks"))


def test_the_shape_and_likelihood_are_lme4s(fit):
    assert fit.family.name == "negative_binomial"
    assert fit.family.theta == pytest.approx(REF["nb_theta"], rel=1e-3)
    assert NB_THETA_BOUNDS[0] < fit.family.theta < NB_THETA_BOUNDS[1]
    assert fit.minus2loglik <= REF["minus2loglik_lme4"] + 1e-4


def test_the_shape_maximises_the_likelihood(fit):
    data = mm.datasets.load("grouseticks")
    for factor in (0.8, 1.25):
        other = glmer(
            REF["formula"], data, family=NegativeBinomial(theta=fit.family.theta * factor)
        )
        assert other.minus2loglik > fit.minus2loglik


def test_at_the_estimated_shape_glmer_gives_the_same_fit(fit):
    again = glmer(
        REF["formula"],
        mm.datasets.load("grouseticks"),
        family=NegativeBinomial(theta=fit.family.theta),
    )
    assert again.minus2loglik == pytest.approx(fit.minus2loglik, abs=1e-5)
    np.testing.assert_allclose(again.beta, fit.beta, rtol=1e-4)
