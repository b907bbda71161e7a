"""Standard errors, intervals and simulations of predictions (mixedmodels.predict_intervals)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import mixedmodels as mm
from mixedmodels.errors import DesignError
from mixedmodels.predict_intervals import predict_frame, prediction_se, simulate


@pytest.fixture(scope="module")
def fit():
    return mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))


@pytest.fixture(scope="module")
def grid():
    return mm.datasets.load("sleepstudy").head(4)


def test_population_se_is_the_fixed_effects_variance_at_the_row(fit, grid):
    X = np.column_stack([np.ones(4), grid["Days"].to_numpy(float)])
    expected = np.sqrt(np.einsum("na,ab,nb->n", X, fit.vcov.to_numpy(), X))
    np.testing.assert_allclose(prediction_se(fit, grid, re_form="~0"), expected, rtol=1e-12)


def test_conditional_se_is_the_default_and_positive(fit, grid):
    conditional = prediction_se(fit, grid)
    assert conditional.shape == (4,)
    assert np.all(conditional > 0)
    np.testing.assert_array_equal(conditional, prediction_se(fit, grid, re_form=None))


def test_confidence_intervals_are_fit_plus_minus_z_se(fit, grid):
    frame = predict_frame(fit, grid, re_form="~0", level=0.9)
    z = stats.norm.ppf(0.95)
    np.testing.assert_allclose(frame["lower"], frame["fit"] - z * frame["se_fit"], rtol=1e-12)
    np.testing.assert_allclose(frame["upper"], frame["fit"] + z * frame["se_fit"], rtol=1e-12)
    beta = np.asarray(fit.fixef)
    np.testing.assert_allclose(frame["fit"], beta[0] + beta[1] * grid["Days"], rtol=1e-12)
    assert list(predict_frame(fit, grid, interval=None).columns) == ["fit", "se_fit"]


def test_prediction_intervals_by_simulation_are_wider_and_seeded(fit, grid):
    confidence = predict_frame(fit, grid)
    first = predict_frame(fit, grid, interval="prediction", n_sims=2000, seed=1)
    again = predict_frame(fit, grid, interval="prediction", n_sims=2000, seed=1)
    assert first.equals(again)
    assert np.all(first["upper"] - first["lower"] > confidence["upper"] - confidence["lower"])
    # the residual dominates: about 2 z sigma wide
    width = 2 * stats.norm.ppf(0.975) * fit.sigma
    np.testing.assert_allclose(first["upper"] - first["lower"], width, rtol=0.2)


def test_bad_arguments_are_named(fit, grid):
    with pytest.raises(DesignError, match="level must be in"):
        predict_frame(fit, grid, level=1.5)
    with pytest.raises(DesignError, match="interval must be None"):
        predict_frame(fit, grid, interval="credible")
    with pytest.raises(DesignError, match="method must be"):
        predict_frame(fit, grid, interval="prediction", method="normal")
    with pytest.raises(DesignError, match="nsim must be a positive integer"):
        simulate(fit, nsim=0)


def test_simulate_given_the_random_effects_varies_by_sigma(fit, grid):
    draws = simulate(fit, nsim=4000, seed=2, newdata=grid, use_u=True)
    assert draws.shape == (4, 4000)
    np.testing.assert_allclose(draws.mean(axis=1), fit.predict(grid), atol=2.0)
    np.testing.assert_allclose(draws.std(axis=1), fit.sigma, rtol=0.05)


def test_simulate_with_new_random_effects_varies_more(fit, grid):
    fresh = simulate(fit, nsim=4000, seed=3, newdata=grid)
    kept = simulate(fit, nsim=4000, seed=3, newdata=grid, use_u=True)
    assert np.all(fresh.std(axis=1) > kept.std(axis=1))
