"""The fit of a GLMM: both stages, the polish and the checks (mixedmodels.glmm.fitting).

Against lme4's cbpp reference (tests/glmm/reference/cbpp.json).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.errors import CompleteSeparationWarning, DesignError
from mixedmodels.glmm import glmer
from mixedmodels.glmm.fitting import DEFAULT_GLMM_CONTROL, fit_glmm, separation_check
from mixedmodels.glmm.model import GeneralizedLinearMixedModel

from ._helpers import reference

REF = reference("cbpp")


def model():
    return GeneralizedLinearMixedModel(REF["formula"], mm.datasets.load("cbpp"), family="binomial")


@pytest.fixture(scope="module")
def fitted():
    return fit_glmm(model(), 1, None, None)


def test_the_fit_reaches_lme4s_likelihood_and_estimates(fitted):
    assert fitted.minus2loglik <= REF["minus2loglik"] + 1e-4
    np.testing.assert_allclose(fitted.theta, REF["theta"], rtol=1e-3)
    np.testing.assert_allclose(np.asarray(fitted.fixef), list(REF["fixef"].values()), rtol=1e-3)
    assert fitted.optsum.converged


def test_glmer_fits_through_it(fitted):
    again = glmer(REF["formula"], mm.datasets.load("cbpp"), family="binomial")
    np.testing.assert_array_equal(again.theta, fitted.theta)
    assert again.objective == fitted.objective


def test_a_start_at_the_optimum_ends_there(fitted):
    start = {"theta": fitted.theta, "fixef": np.asarray(fitted.fixef)}
    again = fit_glmm(model(), 1, start, None)
    assert again.objective == pytest.approx(fitted.objective, abs=1e-6)


def test_bad_start_and_control_are_our_errors():
    with pytest.raises(DesignError, match="start takes 'theta' and 'fixef', got beta"):
        fit_glmm(model(), 1, {"beta": [0.0]}, None)
    with pytest.raises(DesignError, match="start theta must have 1 entries"):
        fit_glmm(model(), 1, {"theta": [1.0, 2.0]}, None)
    with pytest.raises(DesignError, match="unknown control setting.*tolerance"):
        fit_glmm(model(), 1, None, {"tolerance": 1.0})
    assert "maxeval" in DEFAULT_GLMM_CONTROL


def separated():
    rng = np.random.default_rng(0)
    x = rng.normal(size=120)
    g = np.repeat(np.arange(12), 10)
    return pd.DataFrame({"y": (x > 0).astype(float), "x": x, "g": g})


def test_separation_is_found_and_the_effect_named():
    m = GeneralizedLinearMixedModel("y ~ x + (1 | g)", separated(), family="binomial")
    with pytest.warns(CompleteSeparationWarning, match="fixed effect\\(s\\) x separate"):
        assert separation_check(m, force=True)


def test_no_separation_in_cbpp_or_for_other_families():
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompleteSeparationWarning)
        assert not separation_check(model(), force=True)
        data = separated().assign(y=lambda d: (d["x"] > 0) * 3.0 + 1.0)  # counts, not 0/1
        poisson = GeneralizedLinearMixedModel("y ~ x + (1 | g)", data, family="poisson")
        assert not separation_check(poisson, force=True)
