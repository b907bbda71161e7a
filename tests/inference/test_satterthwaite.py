"""Satterthwaite df and p-values against lmerTest (``coef(summary(fit))`` of lmerTest fits)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import REFERENCE_IDS, load_reference, reference_fit

from mixedmodels.inference.satterthwaite import (
    combine_df,
    contrast_df,
    deviance_varpar,
    f_test,
    satterthwaite_info,
)
from mixedmodels.inference.tests import coef_table

from ._at_reference import fit_at_reference_theta

SATTERTHWAITE = [n for n in REFERENCE_IDS if "satterthwaite_df" in load_reference(n)]
SLOW = {"insteval", "insteval_simple"}
CASES = [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in SATTERTHWAITE]


def _close(got, want, rtol=1e-3, floor=1e-300):
    return abs(got - want) <= rtol * abs(want) + floor


@pytest.mark.parametrize("name", [n for n in SATTERTHWAITE if n not in SLOW])
def test_df_and_p_at_lme4_theta_match_lmertest(name):
    """At lme4's estimates our df and p reproduce lmerTest's (its numDeriv Hessian) closely."""
    ref = load_reference(name)
    fit = fit_at_reference_theta(name)
    assert fit.theta == pytest.approx(np.atleast_1d(ref["theta"]), rel=1e-14, abs=1e-300)
    table = coef_table(fit, "Satterthwaite")
    for coef, want in ref["satterthwaite_df"].items():
        assert _close(table.loc[coef, "df"], want, rtol=1e-5), (coef, table.loc[coef, "df"], want)
    for coef, want in ref["satterthwaite_p"].items():
        got = table.loc[coef, "Pr(>|t|)"]
        assert _close(got, want), (coef, got, want)


@pytest.mark.parametrize("name", CASES)
def test_df_and_p_of_our_fit_match_lmertest(name):
    """At our own optimum: df within 1e-3 relative; p within 1e-3 relative on the log scale.

    Deep in the tail p moves fast: a 1e-5 relative change of t or df (our optimum differs from
    lme4's by about that) changes p = 1e-18 by 2e-3 relative.
    """
    ref = load_reference(name)
    fit, _ = reference_fit(name)
    table = coef_table(fit, "Satterthwaite")
    for coef, want in ref["satterthwaite_df"].items():
        assert _close(table.loc[coef, "df"], want), (coef, table.loc[coef, "df"], want)
    for coef, want in ref["satterthwaite_p"].items():
        got = table.loc[coef, "Pr(>|t|)"]
        if want == 0.0:  # R's underflow
            assert got < 1e-300
        else:
            assert abs(np.log(got) - np.log(want)) <= 1e-3 * max(abs(np.log(want)), 1.0), (
                coef,
                got,
                want,
            )


def test_deviance_of_theta_and_sigma_is_the_objective_at_the_optimum():
    for name in ("sleepstudy_rs", "sleepstudy_rs_ml", "penicillin"):
        fit, _ = reference_fit(name)
        value = deviance_varpar(fit.model, fit.theta, fit.sigma, fit.reml)
        assert value == pytest.approx(fit.objective, rel=1e-12)


def test_hessian_matches_plain_finite_differences():
    fit, _ = reference_fit("sleepstudy_rs")
    info = satterthwaite_info(fit)
    x0 = info.varpar
    h = 1e-3 * np.maximum(np.abs(x0), 0.1)

    def f(x):
        return deviance_varpar(fit.model, x[:-1], x[-1], fit.reml)

    k = x0.size
    H = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            ei, ej = np.eye(k)[i] * h[i], np.eye(k)[j] * h[j]
            H[i, j] = (f(x0 + ei + ej) - f(x0 + ei - ej) - f(x0 - ei + ej) + f(x0 - ei - ej)) / (
                4 * h[i] * h[j]
            )
    scale = np.sqrt(np.outer(np.diag(H), np.diag(H)))
    assert np.max(np.abs(info.hessian - H) / scale) < 1e-4


def test_jacobian_of_vcov_in_sigma_is_analytic():
    fit, _ = reference_fit("dyestuff")
    info = satterthwaite_info(fit)
    np.testing.assert_allclose(info.jacobian[-1], 2.0 * info.vcov_beta / fit.sigma, rtol=1e-10)


def test_info_is_cached_per_fit():
    fit, _ = reference_fit("sleepstudy_rs")
    assert satterthwaite_info(fit) is satterthwaite_info(fit)


def test_one_row_f_test_is_the_squared_t_test():
    fit, _ = reference_fit("dietox_rs")
    info = satterthwaite_info(fit)
    table = coef_table(fit, "Satterthwaite")
    F, q, ddf = f_test(info, np.array([[0.0, 1.0]]), fit.fixef.to_numpy())
    assert q == 1
    assert pytest.approx(table.loc["Time", "t value"] ** 2, rel=1e-12) == F
    assert ddf == pytest.approx(table.loc["Time", "df"], rel=1e-12)


def test_dependent_rows_are_dropped():
    fit, _ = reference_fit("dietox_rs")
    info = satterthwaite_info(fit)
    beta = fit.fixef.to_numpy()
    single = f_test(info, np.array([[0.0, 1.0]]), beta)
    doubled = f_test(info, np.array([[0.0, 1.0], [0.0, 2.0]]), beta)
    assert doubled[1] == 1
    assert doubled[0] == pytest.approx(single[0], rel=1e-10)
    assert doubled[2] == pytest.approx(single[2], rel=1e-10)


def test_scaling_a_contrast_leaves_its_df_unchanged():
    fit, _ = reference_fit("sitka_rs")
    info = satterthwaite_info(fit)
    c = np.array([1.0, 200.0])
    assert contrast_df(info, c) == pytest.approx(contrast_df(info, -3.0 * c), rel=1e-10)


def test_combined_df_rules():
    assert combine_df([7.5]) == 7.5
    assert combine_df([12.0, 12.0, 12.0]) == pytest.approx(12.0)
    assert combine_df([1.5, 30.0]) == 2.0
    nu = np.array([10.0, 20.0])
    expected = sum(nu / (nu - 2)) * 2 / (sum(nu / (nu - 2)) - 2)
    assert combine_df(nu) == pytest.approx(expected)
    assert 10.0 < combine_df(nu) < 20.0
