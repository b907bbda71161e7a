"""Starting values of theta (mixedmodels.model_start): moment estimates or lme4's identity."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.errors import DesignError


def one_way(sd_group=2.0, sd_resid=1.0, groups=200, per=10, seed=0):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(groups), per)
    y = 3.0 + sd_group * rng.normal(size=groups)[g] + sd_resid * rng.normal(size=g.size)
    return pd.DataFrame({"y": y, "g": g, "x": rng.normal(size=g.size)})


def fitted(model):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit()


def test_identity_start_is_lme4s_on_the_scaled_columns():
    sleep = mm.datasets.load("sleepstudy")
    model = mm.LinearMixedModel("Reaction ~ Days + (Days | Subject)", sleep)
    start = model.start_theta("identity")
    assert start.tolist() == [1.0, 0.0, 1.0]  # identity lambda of the internally scaled columns
    assert model.scaling.to_scaled(model.scaling.to_theta(start)) == pytest.approx(start)


def test_moment_start_is_close_to_the_one_way_anova_estimate():
    data = one_way(sd_group=2.0, sd_resid=1.0)
    model = mm.LinearMixedModel("y ~ 1 + (1 | g)", data)
    start = model.scaling.to_theta(model.start_theta("moments"))
    fit = fitted(model)
    assert start.shape == (1,)
    assert start[0] == pytest.approx(fit.theta[0], rel=0.05)  # the moments nearly the optimum
    assert start[0] == pytest.approx(2.0, rel=0.2)  # sd ratio of the simulation


def test_moment_start_is_the_default_and_saves_evaluations():
    data = one_way(seed=1)
    model = mm.LinearMixedModel("y ~ x + (1 | g)", data)
    by_moments = fitted(model)
    by_identity = model.fit(control={"start": "identity"})
    assert by_moments.optsum.initial == pytest.approx(
        tuple(model.scaling.to_theta(model.start_theta())), rel=1e-12
    )
    assert by_moments.optsum.evaluations <= by_identity.optsum.evaluations
    assert by_moments.objective == pytest.approx(by_identity.objective, abs=1e-6)


def test_structured_terms_start_inside_their_bounds():
    sleep = mm.datasets.load("sleepstudy")
    model = mm.LinearMixedModel("Reaction ~ Days + ar1(0 + C(Days) | Subject)", sleep)
    theta = model.scaling.to_theta(model.start_theta())
    assert np.all(theta >= model.lower_bounds)
    assert np.all(theta <= model.upper_bounds)
    assert np.all(np.isfinite(theta))


def test_an_unknown_method_is_our_error():
    model = mm.LinearMixedModel("y ~ 1 + (1 | g)", one_way())
    with pytest.raises(DesignError, match="start method"):
        model.start_theta("random")
