"""Mirror tests of mixedmodels.inference._mvt: rectangle probabilities of the multivariate
normal and t against scipy's distribution functions and closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from mixedmodels.inference._mvt import coverage, emmeans_df, quantile


def _rectangle(dist, c):
    """P(|X_1| < c_1, |X_2| < c_2) by inclusion-exclusion of a bivariate cdf."""
    a, b = c
    return dist.cdf([a, b]) - dist.cdf([-a, b]) - dist.cdf([a, -b]) + dist.cdf([-a, -b])


def test_independent_coordinates_multiply():
    c = np.array([1.2, 2.0, 0.7])
    expected = np.prod(2 * stats.norm.cdf(c) - 1)
    assert coverage(c, np.eye(3), np.inf) == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize("rho", [-0.6, 0.3, 0.9])
def test_correlated_normal_matches_scipy(rho):
    corr = np.array([[1.0, rho], [rho, 1.0]])
    c = np.array([1.5, 2.1])
    dist = stats.multivariate_normal(mean=[0, 0], cov=corr)
    assert coverage(c, corr, np.inf) == pytest.approx(_rectangle(dist, c), abs=2e-4)


def test_correlated_t_matches_scipy():
    corr = np.array([[1.0, 0.5], [0.5, 1.0]])
    c = np.array([2.0, 2.0])
    dist = stats.multivariate_t(loc=[0, 0], shape=corr, df=8, seed=1)
    expected = _rectangle(dist, c)
    assert coverage(c, corr, 8.0) == pytest.approx(expected, abs=2e-3)


def test_singular_correlation_of_a_repeated_coordinate_is_one_dimensional():
    corr = np.ones((2, 2))  # the same statistic twice
    assert coverage([1.0, 3.0], corr, np.inf) == pytest.approx(
        2 * stats.norm.cdf(1.0) - 1, abs=1e-4
    )


def test_quantile_inverts_coverage():
    corr = np.array([[1.0, 0.4, 0.2], [0.4, 1.0, 0.1], [0.2, 0.1, 1.0]])
    c = quantile(0.95, corr, 20.0)
    assert coverage(np.full(3, c), corr, 20.0) == pytest.approx(0.95, abs=1e-8)
    # between the one-at-a-time and the Bonferroni bound
    assert stats.t.ppf(0.975, 20) < c < stats.t.ppf(1 - 0.05 / 6, 20)


def test_emmeans_df_rounds_as_emmeans_does():
    assert emmeans_df(7.8) == 8.0
    assert emmeans_df(7.7) == 7.0
    assert emmeans_df(0.3) == 1.0
    assert emmeans_df(1e5) == np.inf
    assert emmeans_df(np.inf) == np.inf
