"""Fits of models with structured covariance terms (mixedmodels.model_structured).

Against glmmTMB's criteria stored in tests/covariance/reference: the fit reaches them (or a
lower value) inside the correlation parameters' bounds, and a fit whose optimum is on the ray
to sigma -> 0 says so in its optsum.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import mixedmodels as mm

REFERENCE = Path(__file__).parent / "covariance" / "reference"


def reference(name):
    ref = json.loads((REFERENCE / f"{name}.json").read_text())
    data = mm.datasets.load(ref["data"])
    factors = [ref["factors"]] if isinstance(ref["factors"], str) else ref["factors"]
    for col in factors:
        data[col] = data[col].astype("category")
    return ref, data


def fit_of(name):
    ref, data = reference(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mm.errors.SingularFitWarning)
        return ref, mm.lmer(ref["formula"], data, REML=ref["REML"])


@pytest.mark.parametrize(
    "name", ["sleepstudy_cs", "sleepstudy_ar1", "sleepstudy_cs_ml", "pastes_homcs"]
)
def test_structured_fits_reach_glmmtmbs_criterion(name):
    ref, fit = fit_of(name)
    assert fit.objective <= ref["objective"] + 1e-5
    assert fit.objective >= ref["objective"] - 1e-3  # not below: no other optimum
    assert fit.optsum.converged
    assert not fit.optsum.residual_boundary
    assert fit.optsum.evaluations > 0
    assert fit.optsum.fmin == pytest.approx(fit.objective, rel=1e-12)


def test_the_optimum_is_inside_the_bounds_and_below_its_neighbours():
    _, fit = fit_of("sleepstudy_ar1")
    model = fit.model
    assert np.all(fit.theta >= model.lower_bounds)
    assert np.all(fit.theta <= model.upper_bounds)
    rng = np.random.default_rng(0)
    for _ in range(6):
        step = rng.normal(scale=1e-3, size=fit.theta.size)
        nearby = np.clip(fit.theta + step, model.lower_bounds, model.upper_bounds)
        assert model.objective(nearby, REML=True) >= fit.objective - 1e-9


def test_a_fit_on_the_ray_to_sigma_zero_says_so():
    ref, fit = fit_of("sitka_cs")
    assert fit.optsum.residual_boundary
    assert fit.objective <= ref["objective"] + 1e-4
    assert fit.sigma < 1e-2 * np.sqrt(np.var(fit.model.design.y))


def test_structured_and_unstructured_terms_fit_together():
    ref, fit = fit_of("sleepstudy_ri_ar1")
    assert "(1 | Subject) + ar1(" in ref["formula"]
    assert fit.objective <= ref["objective"] + 1e-5
    assert fit.optsum.fmin == pytest.approx(fit.objective, rel=1e-12)
