"""Mirror tests of mixedmodels.glmm.links: each link against its mathematical definition."""

from __future__ import annotations

import numpy as np
import pytest

from mixedmodels.errors import DesignError
from mixedmodels.glmm.links import LINKS, Link, get_link

# a mean in each link's range, away from the clamps, and the eta it maps to
_MEANS = {
    "logit": np.array([0.05, 0.3, 0.5, 0.8, 0.97]),
    "probit": np.array([0.05, 0.3, 0.5, 0.8, 0.97]),
    "cloglog": np.array([0.05, 0.3, 0.5, 0.8, 0.97]),
    "cauchit": np.array([0.05, 0.3, 0.5, 0.8, 0.97]),
    "log": np.array([0.1, 1.0, 3.0, 20.0]),
    "identity": np.array([-2.0, 0.0, 1.5, 7.0]),
    "sqrt": np.array([0.1, 1.0, 3.0, 20.0]),
    "inverse": np.array([0.1, 1.0, 3.0, 20.0]),
    "1/mu^2": np.array([0.1, 1.0, 3.0, 20.0]),
}


@pytest.mark.parametrize("name", LINKS)
def test_linkinv_inverts_linkfun(name):
    link = get_link(name)
    mu = _MEANS[name]
    np.testing.assert_allclose(link.linkinv(link.linkfun(mu)), mu, rtol=1e-12)


@pytest.mark.parametrize("name", LINKS)
def test_mu_eta_is_the_derivative_of_linkinv(name):
    link = get_link(name)
    eta = link.linkfun(_MEANS[name])
    h = 1e-6 * np.maximum(1.0, np.abs(eta))
    central = (link.linkinv(eta + h) - link.linkinv(eta - h)) / (2 * h)
    np.testing.assert_allclose(link.mu_eta(eta), central, rtol=1e-6)


def test_links_match_their_closed_forms():
    mu = np.array([0.2, 0.6])
    np.testing.assert_allclose(get_link("logit").linkfun(mu), np.log(mu / (1 - mu)))
    np.testing.assert_allclose(get_link("cloglog").linkfun(mu), np.log(-np.log(1 - mu)))
    np.testing.assert_allclose(get_link("1/mu^2").linkfun(mu), mu**-2.0)


def test_logit_and_log_clamp_instead_of_overflowing():
    eps = np.finfo(float).eps
    mu = get_link("logit").linkinv(np.array([-800.0, 800.0]))
    assert 0.0 < mu[0] < 1e-15
    assert 1 - 1e-15 < mu[1] < 1.0
    assert get_link("log").linkinv(np.array([-800.0]))[0] == eps
    assert np.all(get_link("logit").mu_eta(np.array([-800.0, 800.0])) >= eps)


def test_valid_eta_is_the_domain_of_the_inverse():
    assert not get_link("inverse").valid_eta(np.array([1.0, 0.0]))
    assert not get_link("sqrt").valid_eta(np.array([1.0, -0.5]))
    assert get_link("sqrt").valid_eta(np.array([0.5, 2.0]))
    assert not get_link("log").valid_eta(np.array([np.inf]))


def test_get_link_resolves_aliases_and_objects():
    assert get_link("inverse_squared") == Link("1/mu^2")
    link = Link("probit")
    assert get_link(link) is link
    assert str(link) == "probit"


def test_unknown_link_is_our_error_naming_it():
    with pytest.raises(DesignError, match="'logarithm'"):
        get_link("logarithm")
