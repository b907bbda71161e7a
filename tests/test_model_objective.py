"""The objective as the fit evaluates it (mixedmodels.model_objective), against plain GLS.

The reference is the profiled criterion written from the model's public matrices
(``get_me``: X, Z, Lambda, y) with dense numpy algebra: ``V = Z Lambda Lambda' Z' + I``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm


def gls_criterion(result, reml: bool) -> float:
    """The profiled REML criterion or ML deviance at the result's theta, by dense GLS."""
    X, y = result.get_me("X"), result.get_me("y")
    ZL = np.asarray((result.get_me("Z") @ result.get_me("Lambda")).todense())
    n, p = X.shape
    V = ZL @ ZL.T + np.eye(n)
    Vinv = np.linalg.inv(V)
    XtVX = X.T @ Vinv @ X
    beta = np.linalg.solve(XtVX, X.T @ Vinv @ y)
    e = y - X @ beta
    r2 = float(e @ Vinv @ e)
    logdet_v = np.linalg.slogdet(V)[1]
    if reml:
        return (
            logdet_v + np.linalg.slogdet(XtVX)[1] + (n - p) * (1 + np.log(2 * np.pi * r2 / (n - p)))
        )
    return logdet_v + n * (1 + np.log(2 * np.pi * r2 / n))


def grouped(seed=0, groups=12, per=6):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(groups), per)
    t = np.tile(np.arange(per) % 3, groups)  # three occasions, twice each per group
    x = rng.normal(size=g.size)
    h = rng.integers(0, 5, g.size)
    y = (
        1
        + 0.5 * x
        + rng.normal(size=groups)[g]
        + rng.normal(size=5)[h] * 0.5
        + rng.normal(size=g.size)
    )
    return pd.DataFrame({"y": y, "x": x, "g": g, "h": h, "t": pd.Categorical(t)})


FORMULAS = [
    "y ~ x + (1 | g)",
    "y ~ x + (1 + x | g)",
    "y ~ x + (1 | g) + (1 | h)",
    "y ~ x + (x || g)",
    "y ~ x + cs(0 + t | g)",
    "y ~ x + ar1(0 + t | g)",
    "y ~ x + diag(0 + t | g)",
]


@pytest.mark.parametrize("formula", FORMULAS)
@pytest.mark.parametrize("reml", [True, False])
def test_the_objective_at_any_theta_is_the_gls_criterion(formula, reml):
    model = mm.LinearMixedModel(formula, grouped())
    rng = np.random.default_rng(1)
    lower, upper = model.lower_bounds, model.upper_bounds
    for _ in range(2):
        theta = np.clip(rng.uniform(0.2, 1.5, model.n_theta), lower, upper)
        theta = np.where(
            np.isfinite(lower) & (lower < 0), rng.uniform(-0.5, 0.5, theta.size), theta
        )
        value = model.objective(theta, reml)
        result = model.result_at(theta, REML=reml)
        assert value == pytest.approx(gls_criterion(result, reml), rel=1e-9)


@pytest.mark.parametrize("formula", FORMULAS)
def test_the_fit_reports_the_objective_it_minimised(formula):
    model = mm.LinearMixedModel(formula, grouped(seed=2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = model.fit()
    assert fit.optsum.fmin == pytest.approx(model.objective(fit.theta), rel=1e-12)
    assert fit.objective == pytest.approx(gls_criterion(fit, True), rel=1e-9)


def test_the_minimum_is_below_nearby_points():
    model = mm.LinearMixedModel("y ~ x + (1 + x | g)", grouped(seed=3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = model.fit()
    rng = np.random.default_rng(4)
    for _ in range(5):
        nearby = np.maximum(
            fit.theta + rng.normal(scale=1e-2, size=fit.theta.size), model.lower_bounds
        )
        assert model.objective(nearby) >= fit.objective - 1e-8
