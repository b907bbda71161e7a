"""profile_re against a brute-force constrained refit at each grid point (Sitka random slope).

The brute force is independent of the engine: a dense per-tree REML likelihood in the
data-scale parameters (Psi, sigma^2), with the profiled variance held fixed and the other
parameters maximised by Nelder-Mead from several starts.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

import mixedmodels.compat.statsmodels as sm
from mixedmodels import datasets

N_TREES, N_TIMES = 79, 5


@pytest.fixture(scope="module")
def sitka():
    data = datasets.load("sitka")
    data["Intercept"] = 1
    exog = data[["Intercept", "Time"]]
    result = sm.MixedLM(data["size"], exog, data["tree"], exog.copy()).fit()
    order = np.argsort(data["tree"].to_numpy(), kind="stable")
    X = exog.to_numpy(float)[order].reshape(N_TREES, N_TIMES, 2)
    y = data["size"].to_numpy(float)[order].reshape(N_TREES, N_TIMES)
    return result, X, y


def reml_loglik(psi: np.ndarray, s: float, X: np.ndarray, y: np.ndarray) -> float:
    """REML log-likelihood of y_g = X_g beta + X_g b_g + e_g, b_g ~ N(0, psi), e ~ N(0, s I)."""
    V = np.einsum("gia,ab,gjb->gij", X, psi, X) + s * np.eye(N_TIMES)
    sign, logdet = np.linalg.slogdet(V)
    if (sign <= 0).any():
        return -np.inf
    Vi = np.linalg.inv(V)
    xvx = np.einsum("gia,gij,gjb->ab", X, Vi, X)
    beta = np.linalg.solve(xvx, np.einsum("gia,gij,gj->a", X, Vi, y))
    r = y - X @ beta
    n, p = y.size, X.shape[2]
    deviance = (
        logdet.sum()
        + np.linalg.slogdet(xvx)[1]
        + np.einsum("gi,gij,gj->", r, Vi, r)
        + (n - p) * np.log(2 * np.pi)
    )
    return -0.5 * deviance


def brute_force(k: int, value: float, psi_hat: np.ndarray, s_hat: float, X, y) -> float:
    """max over the other parameters of the REML log-likelihood with psi[k, k] = value."""
    other = 1 - k

    def unpack(z):
        psi = np.empty((2, 2))
        psi[k, k] = value
        psi[other, other] = np.exp(z[0])
        psi[0, 1] = psi[1, 0] = np.tanh(z[1]) * np.sqrt(value * psi[other, other])
        return psi, np.exp(z[2])

    def negative(z):
        return -reml_loglik(*unpack(z), X, y)

    corr = psi_hat[0, 1] / np.sqrt(psi_hat[0, 0] * psi_hat[1, 1])
    best = -np.inf
    for stretch in (1.0, 2.0):
        z0 = [np.log(psi_hat[other, other] * stretch), np.arctanh(corr), np.log(s_hat * stretch)]
        fit = minimize(
            negative,
            z0,
            method="Nelder-Mead",
            options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20_000},
        )
        best = max(best, -fit.fun)
    return best


@pytest.mark.parametrize(("k", "dist"), [(0, 0.1), (1, None)])
def test_profile_re_matches_brute_force(sitka, k, dist):
    result, X, y = sitka
    estimate = result.cov_re.iloc[k, k]
    dist = 0.8 * estimate if dist is None else dist
    likev = result.profile_re(k, dist_low=dist, dist_high=dist)
    assert likev.shape == (11, 2)
    np.testing.assert_allclose(likev[:, 0], np.linspace(estimate - dist, estimate + dist, 11))
    assert likev[5, 1] == pytest.approx(result.llf, abs=1e-8)
    assert (likev[:, 1] <= result.llf + 1e-8).all()
    psi_hat, s_hat = np.asarray(result.cov_re), result.scale
    assert reml_loglik(psi_hat, s_hat, X, y) == pytest.approx(result.llf, abs=1e-8)
    for i in (0, 3, 10):
        expected = brute_force(k, likev[i, 0], psi_hat, s_hat, X, y)
        assert likev[i, 1] == pytest.approx(expected, abs=1e-7)


def test_profile_of_a_variance_component():
    data = datasets.load("pastes")
    result = sm.MixedLM.from_formula(
        "strength ~ 1", data, groups="batch", re_formula="1", vc_formula={"cask": "0 + C(cask)"}
    ).fit()
    likev = result.profile_re("cask", "vc", num_low=1, dist_low=4.0, num_high=1, dist_high=4.0)
    np.testing.assert_allclose(likev[:, 0], result.vcomp[0] + np.array([-4.0, 0.0, 4.0]))
    assert likev[1, 1] == pytest.approx(result.llf, abs=1e-8)
    assert (likev[[0, 2], 1] < result.llf).all()
