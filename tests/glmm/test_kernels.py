"""Compiled means, deviances and working systems of PIRLS (mixedmodels.glmm.kernels).

Against the families' own numpy formulas (mixedmodels.glmm.families).
"""

from __future__ import annotations

import numpy as np
import pytest

from mixedmodels.glmm.families import get_family
from mixedmodels.glmm.kernels import FAMILY_CODES, LINK_CODES, means_and_deviance, working_system

CASES = [("binomial", "logit"), ("binomial", "probit"), ("poisson", "log"), ("Gamma", "log")]


def data(family, seed=0):
    rng = np.random.default_rng(seed)
    eta = rng.normal(scale=0.8, size=40)
    if family == "binomial":
        y = rng.integers(0, 2, 40).astype(float)
    elif family == "poisson":
        y = rng.poisson(2.0, 40).astype(float)
    else:
        y = rng.gamma(2.0, 1.0, 40)
    return eta, y, rng.uniform(0.5, 2.0, 40)


@pytest.mark.parametrize(("name", "link"), CASES)
def test_means_and_deviance_are_the_familys(name, link):
    family = get_family(name, link)
    eta, y, wt = data(name)
    mu = np.empty_like(eta)
    deviance = means_and_deviance(eta, y, wt, FAMILY_CODES[name], LINK_CODES[link], 0.0, mu)
    np.testing.assert_allclose(mu, family.link.linkinv(eta), rtol=1e-12)
    assert deviance == pytest.approx(float(np.sum(family.dev_resids(y, mu, wt))), rel=1e-10)


@pytest.mark.parametrize(("name", "link"), CASES)
def test_working_weights_and_residuals(name, link):
    family = get_family(name, link)
    eta, y, wt = data(name, 1)
    mu = family.link.linkinv(eta)
    weights, working = np.empty_like(eta), np.empty_like(eta)
    working_system(eta, mu, y, wt, FAMILY_CODES[name], LINK_CODES[link], 0.0, weights, working)
    d = family.link.mu_eta(eta)
    np.testing.assert_allclose(weights, wt * d * d / family.variance(mu), rtol=1e-10)
    np.testing.assert_allclose(working, (y - mu) / d, rtol=1e-10)


def test_a_mean_outside_the_range_is_nan():
    mu = np.empty(2)
    eta = np.array([0.0, -1.0])
    code = FAMILY_CODES["poisson"]
    assert np.isnan(
        means_and_deviance(eta, np.ones(2), np.ones(2), code, LINK_CODES["sqrt"], 0.0, mu)
    )
    assert np.isnan(
        means_and_deviance(
            np.array([np.inf]), np.ones(1), np.ones(1), code, LINK_CODES["log"], 0.0, mu
        )
    )
