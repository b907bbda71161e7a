"""Links and families against statsmodels' (a test dependency) and the compiled loops."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

from mixedmodels.glmm import kernels
from mixedmodels.glmm.families import (
    Binomial,
    Gamma,
    InverseGaussian,
    NegativeBinomial,
    Poisson,
    get_family,
)
from mixedmodels.glmm.links import get_link
from mixedmodels.glmm.pirls import kernel_codes

SM_LINKS = {
    "logit": sm.families.links.Logit(),
    "probit": sm.families.links.Probit(),
    "cloglog": sm.families.links.CLogLog(),
    "cauchit": sm.families.links.Cauchy(),
    "log": sm.families.links.Log(),
    "identity": sm.families.links.Identity(),
    "sqrt": sm.families.links.Sqrt(),
    "inverse": sm.families.links.InversePower(),
    "1/mu^2": sm.families.links.InverseSquared(),
}


@pytest.mark.parametrize("name", list(SM_LINKS))
def test_links_match_statsmodels(name):
    mu = np.linspace(0.05, 0.95, 19)
    ours, theirs = get_link(name), SM_LINKS[name]
    eta = theirs(mu)
    np.testing.assert_allclose(ours.linkfun(mu), eta, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours.linkinv(eta), mu, rtol=1e-10)
    np.testing.assert_allclose(ours.mu_eta(eta), 1.0 / theirs.deriv(mu), rtol=1e-8)


FAMILIES = [
    (Binomial(), sm.families.Binomial(), np.array([0.0, 0.25, 1.0, 0.5]), np.array([4.0, 4, 1, 2])),
    (Poisson(), sm.families.Poisson(), np.array([0.0, 3.0, 7.0, 1.0]), np.ones(4)),
    (
        Gamma(link="log"),
        sm.families.Gamma(sm.families.links.Log()),
        np.array([0.5, 2, 3, 1.5]),
        np.ones(4),
    ),
    (
        InverseGaussian(link="log"),
        sm.families.InverseGaussian(sm.families.links.Log()),
        np.array([0.5, 2, 3, 1.5]),
        np.ones(4),
    ),
    (
        NegativeBinomial(theta=2.0),
        sm.families.NegativeBinomial(alpha=0.5),
        np.array([0.0, 3.0, 7.0, 1.0]),
        np.ones(4),
    ),
]


@pytest.mark.parametrize(("ours", "theirs", "y", "wt"), FAMILIES)
def test_variance_and_deviance_match_statsmodels(ours, theirs, y, wt):
    mu = np.array([0.3, 0.4, 0.8, 0.6]) * (1 if ours.name == "binomial" else 4)
    np.testing.assert_allclose(ours.variance(mu), theirs.variance(mu), rtol=1e-12)
    np.testing.assert_allclose(
        ours.dev_resids(y, mu, wt), theirs.resid_dev(y, mu, var_weights=wt) ** 2, rtol=1e-10
    )


def test_binomial_loglik_matches_statsmodels():
    y, n = np.array([0.25, 0.5, 1.0]), np.array([4.0, 2.0, 3.0])
    mu = np.array([0.3, 0.6, 0.7])
    theirs = sm.families.Binomial().loglike(y, mu, var_weights=n)
    dev = float(np.sum(Binomial().dev_resids(y, mu, n)))
    from scipy.stats import binom

    exact = np.sum(binom.logpmf(np.round(n * y), n, mu))
    assert Binomial().minus2_loglik(y, mu, n, n, dev) == pytest.approx(-2 * exact)
    assert np.isfinite(theirs)


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(
        [
            ("binomial", "logit"),
            ("binomial", "probit"),
            ("binomial", "cloglog"),
            ("binomial", "cauchit"),
            ("poisson", "log"),
            ("poisson", "sqrt"),
            ("Gamma", "log"),
            ("Gamma", "inverse"),
            ("inverse_gaussian", "1/mu^2"),
        ]
    ),
    st.integers(0, 10_000),
)
def test_compiled_loops_equal_the_numpy_formulas(pair, seed):
    family = get_family(*pair)
    rng = np.random.default_rng(seed)
    n = 50
    if family.name == "binomial":
        eta = rng.normal(0, 3, n)
        y = rng.integers(0, 5, n) / 4.0
    elif family.link.name in ("inverse", "1/mu^2"):
        eta = rng.uniform(0.2, 2.0, n)
        y = rng.uniform(0.5, 3, n)
    elif family.link.name == "sqrt":
        eta = rng.uniform(0.3, 3.0, n)
        y = rng.poisson(2, n).astype(float)
    else:
        eta = rng.normal(0, 1, n)
        y = rng.poisson(2, n).astype(float) if family.name == "poisson" else rng.uniform(0.5, 3, n)
    wt = rng.uniform(0.5, 4, n)
    fam, link, theta = kernel_codes(family)
    mu = np.empty(n)
    dev = kernels.means_and_deviance(eta, y, wt, fam, link, theta, mu)
    mu_np = family.link.linkinv(eta)
    np.testing.assert_allclose(mu, mu_np, rtol=1e-12)
    assert dev == pytest.approx(float(np.sum(family.dev_resids(y, mu_np, wt))), rel=1e-10)
    w, z = np.empty(n), np.empty(n)
    kernels.working_system(eta, mu, y, wt, fam, link, theta, w, z)
    d = family.link.mu_eta(eta)
    np.testing.assert_allclose(w, wt * d * d / family.variance(mu_np), rtol=1e-10)
    np.testing.assert_allclose(z, (y - mu_np) / d, rtol=1e-9, atol=1e-12)
