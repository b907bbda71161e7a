"""Counts, settings and parameter containers of the results, and the remaining arguments of
``wald_test`` (``scalar=False``, ``invcov``, ``df_constraints``), against statsmodels 0.15 on
the same fit (``at_ours``: statsmodels restarted at our optimum, see sm_results_fits)."""

from __future__ import annotations

import numpy as np
import pytest
from sm_results_fits import NAMES, pair

pytest.importorskip("statsmodels.api")

EST = {"rtol": 1e-6, "atol": 1e-6}


@pytest.mark.parametrize("name", NAMES)
def test_counts_and_settings(name):
    p = pair(name)
    ours, theirs = p.ours, p.at_ours
    for attr in ("k_fe", "k_re", "k_re2", "k_vc", "nobs", "df_modelwc", "method", "use_sqrt"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr
    assert len(ours.params) == ours.k_fe + ours.k_re2 + ours.k_vc
    assert ours.converged is True
    if not p.theirs.converged:
        # statsmodels' own fit of the ML categorical model stops 0.41 short in llf
        assert ours.llf > p.theirs.llf + 0.1


@pytest.mark.parametrize("name", NAMES)
def test_params_object_and_unscaled_covariance(name):
    p = pair(name)
    ours, theirs = p.ours.params_object, p.at_ours.params_object
    assert (ours.k_fe, ours.k_re, ours.k_vc) == (theirs.k_fe, theirs.k_re, theirs.k_vc)
    np.testing.assert_allclose(ours.fe_params, theirs.fe_params, **EST)
    np.testing.assert_allclose(ours.cov_re, theirs.cov_re, **EST)
    np.testing.assert_allclose(ours.vcomp, theirs.vcomp, **EST)
    for use_sqrt in (False, True):
        np.testing.assert_allclose(
            ours.get_packed(use_sqrt=use_sqrt, has_fe=True),
            theirs.get_packed(use_sqrt=use_sqrt, has_fe=True),
            **EST,
        )
    np.testing.assert_allclose(p.ours.cov_re_unscaled, np.asarray(p.at_ours.cov_re_unscaled), **EST)


@pytest.mark.parametrize("name", ["slope_reml", "categorical", "sitka_arrays"])
@pytest.mark.parametrize("use_f", [False, True])
def test_wald_test_not_scalar(name, use_f):
    p = pair(name)
    k = len(p.ours.params)
    r = np.eye(k)[[0, 1]]
    ours = p.ours.wald_test(r, use_f=use_f, scalar=False)
    theirs = p.at_ours.wald_test(r, use_f=use_f, scalar=False)
    assert isinstance(ours.statistic, np.ndarray)
    assert ours.statistic.shape == theirs.statistic.shape == (1, 1)
    np.testing.assert_allclose(ours.statistic, theirs.statistic, rtol=1e-5)
    assert float(ours.pvalue) == pytest.approx(float(theirs.pvalue), rel=1e-4, abs=1e-12)
    assert ours.distribution == theirs.distribution


@pytest.mark.parametrize("name", ["slope_ml", "vc", "sitka_arrays_ml"])
def test_wald_test_invcov_and_df_constraints(name):
    p = pair(name)
    k = len(p.ours.params)
    r = np.eye(k)[[0, 1]]
    invcov = np.array([[2.0, 0.5], [0.5, 1.0]])
    for kwargs in ({"invcov": invcov}, {"df_constraints": 5}, {"invcov": invcov, "use_f": True}):
        ours = p.ours.wald_test(r, **kwargs)
        theirs = p.at_ours.wald_test(r, **kwargs)
        assert ours.statistic == pytest.approx(theirs.statistic, rel=1e-6), kwargs
        assert float(ours.pvalue) == pytest.approx(float(theirs.pvalue), rel=1e-5), kwargs
        assert float(ours.df_denom) == float(theirs.df_denom), kwargs
    ours, theirs = p.ours.f_test(r, invcov=invcov), p.at_ours.f_test(r, invcov=invcov)
    assert ours.fvalue == pytest.approx(theirs.fvalue, rel=1e-6)
    assert ours.df_num == theirs.df_num


def test_invcov_of_the_wrong_size_is_refused():
    from mixedmodels.errors import DesignError

    p = pair("slope_reml")
    r = np.eye(len(p.ours.params))[[0, 1]]
    with pytest.raises(DesignError, match="invcov"):
        p.ours.wald_test(r, invcov=np.eye(3))
