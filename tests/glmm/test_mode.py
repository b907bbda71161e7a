"""The converged PIRLS state (mixedmodels.glmm.mode.Mode) against its definition, on cbpp.

For ``cbind(incidence, size - incidence) ~ period + (1 | herd)`` the linear predictor is
``X beta + theta u[herd]``; the mode minimises the binomial deviance plus ``|u|^2``.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

import mixedmodels as mm
from mixedmodels.glmm import glmer
from mixedmodels.glmm.mode import Mode

FORMULA = "cbind(incidence, size - incidence) ~ period + (1 | herd)"


@pytest.fixture(scope="module")
def fit():
    return glmer(FORMULA, mm.datasets.load("cbpp"), family="binomial")


def binomial_deviance(k, n, mu):
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(k > 0, k * np.log(k / (n * mu)), 0.0)
        b = np.where(n - k > 0, (n - k) * np.log((n - k) / (n * (1 - mu))), 0.0)
    return float(2.0 * np.sum(a + b))


def parts(fit, u):
    data = mm.datasets.load("cbpp")
    herd = fit.design.blocks[0].codes
    eta = fit.design.X @ np.asarray(fit.fixef) + fit.theta[0] * u[herd]
    mu = expit(eta)
    return eta, mu, binomial_deviance(data["incidence"].to_numpy(), data["size"].to_numpy(), mu)


def test_the_mode_holds_the_linear_predictor_means_and_deviance_of_its_u(fit):
    mode = fit.model.mode(fit.theta, np.asarray(fit.fixef))
    assert isinstance(mode, Mode)
    u = mode.u[0][:, 0]
    assert u.shape == (15,)  # one per herd
    eta, mu, deviance = parts(fit, u)
    np.testing.assert_allclose(mode.eta, eta, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mode.mu, mu, rtol=1e-12)
    assert mode.deviance == pytest.approx(deviance, rel=1e-10)
    assert mode.penalty == pytest.approx(float(u @ u), rel=1e-12)
    np.testing.assert_array_equal(mode.beta, np.asarray(fit.fixef))  # not joint: beta as given
    assert mode.iterations >= 1


def test_the_mode_minimises_the_penalised_deviance(fit):
    mode = fit.model.mode(fit.theta, np.asarray(fit.fixef))
    u = mode.u[0][:, 0]
    best = mode.deviance + mode.penalty
    rng = np.random.default_rng(0)
    for _ in range(10):
        other = u + rng.normal(scale=1e-2, size=u.size)
        assert parts(fit, other)[2] + other @ other > best


def test_the_log_determinant_is_that_of_the_weighted_cross_product(fit):
    mode = fit.model.mode(fit.theta, np.asarray(fit.fixef))
    data = mm.datasets.load("cbpp")
    herd = fit.design.blocks[0].codes
    weights = data["size"].to_numpy() * mode.mu * (1 - mode.mu)
    diagonal = fit.theta[0] ** 2 * np.bincount(herd, weights=weights) + 1.0
    assert mode.logdet_z == pytest.approx(float(np.sum(np.log(diagonal))), rel=1e-10)


def test_the_fits_mode_is_the_mode_at_its_estimates(fit):
    again = fit.model.mode(fit.theta, np.asarray(fit.fixef))
    np.testing.assert_allclose(fit.mode.u[0], again.u[0], atol=1e-7)
