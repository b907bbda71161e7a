"""``MixedLMParams`` and ``VCSpec``: statsmodels' containers, packed as statsmodels packs them."""

from __future__ import annotations

import numpy as np
import pytest

import mixedmodels.compat.statsmodels as sm

smlm = pytest.importorskip("statsmodels.regression.mixed_linear_model")


def _components(seed: int = 0):
    rng = np.random.default_rng(seed)
    root = np.tril(rng.normal(size=(3, 3))) + 2 * np.eye(3)
    return rng.normal(size=2), root @ root.T, rng.uniform(0.1, 1.0, 2)


@pytest.mark.parametrize("use_sqrt", [True, False])
@pytest.mark.parametrize("has_fe", [True, False])
def test_packing_is_statsmodels(use_sqrt, has_fe):
    fe, cov, vc = _components()
    ours = sm.MixedLMParams.from_components(fe, cov, vcomp=vc)
    theirs = smlm.MixedLMParams.from_components(fe, cov, vcomp=vc)
    packed = ours.get_packed(use_sqrt=use_sqrt, has_fe=has_fe)
    np.testing.assert_allclose(packed, theirs.get_packed(use_sqrt=use_sqrt, has_fe=has_fe))
    if has_fe:
        back = sm.MixedLMParams.from_packed(packed, 2, 3, use_sqrt=use_sqrt, has_fe=True)
        np.testing.assert_allclose(back.fe_params, fe)
        np.testing.assert_allclose(back.cov_re, cov)
        np.testing.assert_allclose(back.vcomp, vc)


def test_a_copy_is_independent():
    fe, cov, vc = _components(1)
    params = sm.MixedLMParams.from_components(fe, cov, vcomp=vc)
    twin = params.copy()
    twin.cov_re[0, 0] += 1.0
    assert params.cov_re[0, 0] == pytest.approx(cov[0, 0])
    assert repr(params) == "MixedLMParams(k_fe=2, k_re=3, k_vc=2)"
