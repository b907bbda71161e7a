"""Results attributes and Wald-type tests against statsmodels 0.15 on the same fit.

``at_ours`` is statsmodels restarted at our optimum (see sm_results_fits): estimates agree to
1e-6 there; standard errors to 1e-5 relative (our central differences against statsmodels'
analytic Hessian).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sm_results_fits import NAMES, assert_cov_close, pair

from mixedmodels.errors import DesignError

pytest.importorskip("statsmodels.api")

SE = {"rtol": 1e-5, "atol": 1e-9}
EST = {"rtol": 1e-6, "atol": 1e-6}


def _same_labels(ours, theirs):
    if isinstance(theirs, pd.DataFrame):
        assert list(ours.index) == list(theirs.index)
        assert list(ours.columns) == list(theirs.columns)
    elif isinstance(theirs, pd.Series):
        assert list(ours.index) == list(theirs.index)


@pytest.mark.parametrize("name", NAMES)
def test_scalars(name):
    p = pair(name)
    ours, theirs = p.ours, p.at_ours
    assert ours.nobs == theirs.nobs
    assert ours.method == theirs.method
    assert ours.df_modelwc == theirs.df_modelwc
    assert ours.df_resid == theirs.df_resid
    assert ours.llf == pytest.approx(theirs.llf, abs=1e-8)
    for attr in ("aic", "bic"):
        value = getattr(theirs, attr)
        if np.isnan(value):
            assert np.isnan(getattr(ours, attr))
        else:
            assert getattr(ours, attr) == pytest.approx(value, abs=1e-7)
    assert ours.scale == pytest.approx(theirs.scale, rel=1e-6)
    assert ours.use_t is theirs.use_t is False
    assert ours.cov_pen is theirs.cov_pen is None
    assert ours.hist is theirs.hist is None
    assert_cov_close(ours.normalized_cov_params, theirs.normalized_cov_params)


@pytest.mark.parametrize("name", NAMES)
def test_converged_where_statsmodels_converges(name):
    p = pair(name)
    assert p.ours.converged
    assert isinstance(p.ours.converged, bool)


@pytest.mark.parametrize("name", NAMES)
def test_estimates_and_standard_errors(name):
    p = pair(name)
    ours, theirs = p.ours, p.at_ours
    for attr in ("fe_params", "cov_re"):
        _same_labels(getattr(ours, attr), getattr(theirs, attr))
        np.testing.assert_allclose(getattr(ours, attr), getattr(theirs, attr), **EST)
    np.testing.assert_allclose(ours.vcomp, theirs.vcomp, **EST)
    assert np.shape(ours.vcomp) == np.shape(theirs.vcomp)
    _same_labels(ours.bse_fe, theirs.bse_fe)
    np.testing.assert_allclose(ours.bse_fe, theirs.bse_fe, **SE)
    np.testing.assert_allclose(ours.bse, theirs.bse, **SE)


@pytest.mark.parametrize("name", NAMES)
def test_bse_re_differs_from_statsmodels_by_design(name):
    """statsmodels' bse_re is ``sqrt(scale) * bse`` of the relative variances (units of a
    standard deviation, not a standard error of the variance); ours is the data-scale
    standard error (docs/statsmodels.md). statsmodels' number is recovered from ours."""
    p = pair(name)
    ours, theirs = p.ours, p.at_ours
    raw = np.asarray(theirs._results.bse_re)  # the wrapper fails to label it with a vc
    np.testing.assert_allclose(np.sqrt(ours.scale) * np.asarray(ours.bse)[ours.k_fe :], raw, **SE)
    assert list(ours.bse_re.index) == list(ours.params.index[ours.k_fe :])
    if ours.k_vc == 0:
        assert list(ours.bse_re.index) == list(theirs.bse_re.index)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.01])
def test_conf_int(name, alpha):
    p = pair(name)
    ours, theirs = p.ours.conf_int(alpha), p.at_ours.conf_int(alpha)
    _same_labels(ours, theirs)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["slope_reml", "categorical", "vc", "sitka_arrays"])
def test_random_effects(name):
    p = pair(name)
    ours, theirs = p.ours.random_effects, p.at_ours.random_effects
    assert list(ours) == list(theirs)
    for label in theirs:
        _same_labels(ours[label], theirs[label])
        np.testing.assert_allclose(ours[label], theirs[label], rtol=1e-5, atol=1e-6)
    ours, theirs = p.ours.random_effects_cov, p.at_ours.random_effects_cov
    assert list(ours) == list(theirs)
    for label in theirs:
        _same_labels(ours[label], theirs[label])
        np.testing.assert_allclose(ours[label], theirs[label], rtol=1e-5, atol=1e-8)


def _matrix(name: str, rows) -> np.ndarray:
    return np.eye(pair(name).ours.k_fe)[rows]


@pytest.mark.parametrize("name", ["slope_reml", "categorical", "slope_ml"])
def test_t_test_matrix(name):
    p = pair(name)
    r = _matrix(name, [0, 1])
    ours, theirs = p.ours.t_test(r), p.at_ours.t_test(r)
    np.testing.assert_allclose(ours.effect, theirs.effect, **EST)
    np.testing.assert_allclose(ours.sd, theirs.sd, **SE)
    np.testing.assert_allclose(ours.statistic, theirs.statistic, **SE)
    np.testing.assert_allclose(ours.pvalue, theirs.pvalue, rtol=1e-4, atol=1e-12)
    np.testing.assert_allclose(ours.conf_int(), theirs.conf_int(), rtol=1e-5, atol=1e-6)
    assert ours.distribution == theirs.distribution == "norm"
    assert str(ours.summary()) == str(theirs.summary())


def test_t_test_with_values_and_text():
    p = pair("categorical")
    r = _matrix("categorical", [5])
    theirs = p.at_ours.t_test(r)
    by_text = p.ours.t_test("Time = 7")
    # statsmodels' t_test takes no text: the same test through its matrix and values
    np.testing.assert_allclose(by_text.effect, theirs.effect, **EST)
    np.testing.assert_allclose(
        by_text.statistic, np.ravel((theirs.effect - 7) / theirs.sd), rtol=1e-5, atol=1e-8
    )
    pair_form = p.ours.t_test((r, [7.0]))
    np.testing.assert_allclose(pair_form.statistic, by_text.statistic, rtol=1e-12)


def test_t_test_refuses_variance_parameters_and_wrong_shapes():
    p = pair("categorical")
    with pytest.raises(DesignError, match="fixed effects only"):
        p.ours.t_test("Group Var = 0")
    with pytest.raises(DesignError, match="columns"):
        p.ours.t_test(np.eye(3))
    with pytest.raises(DesignError, match="unknown name"):
        p.ours.t_test("Tme = 0")


CONSTRAINTS = {
    "categorical": [
        "Time = 0",
        "Time = 0, Cu[T.Cu035] = 1",
        "C(Evit)[T.Evit100] = C(Evit)[T.Evit200]",
        "Time:C(Evit)[T.Evit100] + 2 * Time:C(Evit)[T.Evit200] = 0.1",
        "Group Var = 0",
    ],
    "slope_reml": ["Time = 7", "Intercept = 15, Time = 7", "Time Var = 0"],
    "vc": ["Time = 7", "Pig Var = 0"],
}


@pytest.mark.parametrize(
    ("name", "text"), [(n, t) for n, texts in CONSTRAINTS.items() for t in texts]
)
def test_wald_and_f_tests_by_text(name, text):
    p = pair(name)
    for method in ("wald_test", "f_test"):
        kwargs = {"scalar": True} if method == "wald_test" else {}
        ours = getattr(p.ours, method)(text, **kwargs)
        theirs = getattr(p.at_ours, method)(text, **kwargs)
        assert ours.distribution == theirs.distribution
        assert float(ours.df_denom) == float(theirs.df_denom)
        assert float(np.squeeze(ours.statistic)) == pytest.approx(
            float(np.squeeze(theirs.statistic)), rel=1e-5
        )
        assert float(ours.pvalue) == pytest.approx(float(theirs.pvalue), rel=1e-4, abs=1e-12)
        assert str(ours).split("=")[0] == str(theirs).split("=")[0]


@pytest.mark.parametrize("name", ["categorical", "slope_ml"])
def test_wald_test_matrix_over_all_params(name):
    p = pair(name)
    k = len(p.ours.params)
    r = np.eye(k)[[1, k - 1]]
    ours, theirs = p.ours.wald_test(r), p.at_ours.wald_test(r, scalar=True)
    assert ours.statistic == pytest.approx(theirs.statistic, rel=1e-5)
    ours, theirs = p.ours.f_test(r), p.at_ours.f_test(r)
    assert ours.fvalue == pytest.approx(theirs.fvalue, rel=1e-5)
    assert ours.df_num == theirs.df_num
    # a fixed-effects matrix is padded with zeros over the variance parameters
    r_fe = np.eye(p.ours.k_fe)[[1]]
    padded = np.hstack([r_fe, np.zeros((1, k - p.ours.k_fe))])
    assert p.ours.wald_test(r_fe).statistic == pytest.approx(
        p.at_ours.wald_test(padded, scalar=True).statistic, rel=1e-5
    )


def test_nonlinear_constraint_is_refused():
    with pytest.raises(DesignError, match="linear"):
        pair("slope_reml").ours.wald_test("Time * Intercept = 0")
