"""The map between the engine's theta and statsmodels' (psi, vcomp / scale)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import mixedmodels as mm
import mixedmodels.compat.statsmodels as sm


@pytest.fixture(scope="module")
def fitted():
    data = mm.datasets.load("dietox")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = sm.MixedLM.from_formula(
            "Weight ~ Time",
            data,
            groups="Pig",
            re_formula="1 + Time",
            vc_formula={"Litter": "0 + C(Litter)"},
        )
        return model.fit()


def test_psi_is_the_relative_covariance_of_the_factor(fitted):
    pmap, theta = fitted.pmap, fitted.lmer_result.theta
    factor = pmap.factor(theta)
    np.testing.assert_allclose(pmap.psi(theta), factor @ factor.T, rtol=1e-12)
    np.testing.assert_allclose(pmap.psi(theta) * fitted.scale, fitted.cov_re, rtol=1e-9)
    np.testing.assert_allclose(pmap.vc_rel(theta) * fitted.scale, fitted.vcomp, rtol=1e-9)


def test_theta_is_recovered_from_psi_and_the_components(fitted):
    pmap, theta = fitted.pmap, fitted.lmer_result.theta
    back = pmap.theta_of(pmap.psi(theta), pmap.vc_rel(theta))
    np.testing.assert_allclose(back, theta, rtol=1e-10, atol=1e-12)
    psi, vc = pmap.unpack_var(pmap.packed_var(theta))
    np.testing.assert_allclose(psi, pmap.psi(theta), rtol=1e-12)
    np.testing.assert_allclose(vc, pmap.vc_rel(theta), rtol=1e-12)
    assert (pmap.k_re, pmap.k_vc, pmap.n_theta) == (2, 1, theta.size)
