"""The compiled lambdas of the correlated structures (mixedmodels.covariance.kernels).

Each factor ``F`` written by a kernel must be lower triangular with ``F F'`` the structure's
covariance, written here from its definition.
"""

from __future__ import annotations

import numpy as np
import pytest

from mixedmodels.covariance.kernels import ar1_factor, cs_factor_into, toeplitz_factor


def factor(kernel, *args, k):
    out = np.full((k, k), np.nan)
    kernel(*args, out)
    assert np.all(np.triu(out, 1) == 0.0)
    return out


@pytest.mark.parametrize(("sd", "rho"), [(1.0, 0.0), (2.0, 0.6), (0.5, -0.4), (1.5, 0.999)])
def test_ar1_is_sd_squared_times_rho_to_the_lag(sd, rho):
    k = 5
    F = factor(ar1_factor, sd, rho, k=k)
    lag = np.abs(np.subtract.outer(np.arange(k), np.arange(k)))
    np.testing.assert_allclose(F @ F.T, sd**2 * rho**lag, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("rho", [0.0, 0.3, 0.9, -0.2, 1.0])
def test_cs_has_one_correlation_and_its_standard_deviations(rho):
    sds = np.array([1.0, 2.0, 0.5, 3.0])
    F = factor(cs_factor_into, sds, rho, k=4)
    correlation = np.full((4, 4), rho) + (1 - rho) * np.eye(4)
    np.testing.assert_allclose(F @ F.T, np.outer(sds, sds) * correlation, atol=1e-12)


def test_homcs_takes_one_standard_deviation_for_all_columns():
    F = factor(cs_factor_into, np.array([2.0]), 0.25, k=3)
    correlation = np.full((3, 3), 0.25) + 0.75 * np.eye(3)
    np.testing.assert_allclose(F @ F.T, 4.0 * correlation, rtol=1e-12)


def toeplitz_from_pacf(pacf):
    """Lag correlations from partial autocorrelations: solve Yule-Walker step by step."""
    k = len(pacf) + 1
    acf = [1.0]
    for m in range(1, k):
        R = np.array([[acf[abs(i - j)] for j in range(m)] for i in range(m)])
        # AR(m) with last coefficient pacf[m-1]: its first m-1 coefficients from AR(m-1)
        if m == 1:
            acf.append(pacf[0])
            continue
        r = np.array(acf[1:m])
        phi_prev = np.linalg.solve(R[:-1, :-1], r)
        phi = np.append(phi_prev - pacf[m - 1] * phi_prev[::-1], pacf[m - 1])
        acf.append(float(phi @ np.array(acf[m - 1 :: -1][:m])))
    return np.array([[acf[abs(i - j)] for j in range(k)] for i in range(k)])


@pytest.mark.parametrize("pacf", [[0.5, 0.2, -0.1], [0.0, 0.0, 0.0], [-0.6, 0.3, 0.4]])
def test_toeplitz_factor_is_the_correlation_of_its_partial_autocorrelations(pacf):
    pacf = np.array(pacf)
    sds = np.array([1.0, 1.5, 2.0, 0.7])
    F = factor(toeplitz_factor, sds, pacf, k=4)
    cov = F @ F.T
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), sds, rtol=1e-12)
    correlation = cov / np.outer(sds, sds)
    np.testing.assert_allclose(correlation, toeplitz_from_pacf(pacf), atol=1e-12)
    assert correlation[1, 0] == pytest.approx(pacf[0])  # lag one: the first partial one
