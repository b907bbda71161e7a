"""Satterthwaite, Kenward-Roger, profiles, the bootstrap and anova on structured terms."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import load_reference, reference_data

import mixedmodels as mm
from mixedmodels.inference.tests import coef_table


def _fit(formula, data, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return mm.lmer(formula, data, **kwargs)


@pytest.fixture(scope="module")
def sleep():
    return mm.datasets.load("sleepstudy")


@pytest.fixture(scope="module")
def ar1(sleep):
    return _fit("Reaction ~ Days + ar1(0 + C(Days) | Subject)", sleep)


def test_two_column_cs_is_the_unstructured_model(sleep):
    """cs with two columns has two SDs and a correlation: lme4's 2 x 2, in other parameters."""
    us = _fit("Reaction ~ Days + (Days | Subject)", sleep)
    cs = _fit("Reaction ~ Days + cs(1 + Days | Subject)", sleep)
    assert cs.objective <= us.objective + 1e-8
    np.testing.assert_allclose(cs.fixef, us.fixef, rtol=1e-6)
    # Satterthwaite's df do not depend on the parameterisation; lmerTest's on the us model
    ref = load_reference("sleepstudy_rs")
    got = coef_table(cs, ddf="Satterthwaite")["df"]
    np.testing.assert_allclose(got, list(ref["satterthwaite_df"].values()), rtol=1e-4)
    # Kenward-Roger's df agree too (its adjusted covariance is not invariant)
    kr = coef_table(cs, ddf="Kenward-Roger")["df"]
    np.testing.assert_allclose(kr, list(ref["kenward_roger_df"].values()), rtol=1e-5)


def test_homcs_kenward_roger_is_pbkrtests_nested_model():
    """homcs(0 + cask | batch) is (1 | batch) + (1 | batch:cask), linear in (v, c)."""
    ref = load_reference("pastes")
    fit = _fit("strength ~ 1 + homcs(0 + cask | batch)", reference_data("pastes"))
    kr = coef_table(fit, ddf="Kenward-Roger")
    assert kr["df"].iloc[0] == pytest.approx(ref["kenward_roger_df"]["(Intercept)"], rel=1e-6)
    from mixedmodels.inference.kenward_roger import kenward_roger_info

    adjusted = kenward_roger_info(fit).vcov_adjusted
    np.testing.assert_allclose(adjusted, ref["kenward_roger_vcov"], rtol=1e-6)


def test_satterthwaite_and_kenward_roger_on_ar1(ar1):
    satterthwaite = coef_table(ar1, ddf="Satterthwaite")
    kr = coef_table(ar1, ddf="Kenward-Roger")
    for table in (satterthwaite, kr):
        assert np.all(np.isfinite(table["df"]))
        assert np.all((table["df"] > 10) & (table["df"] < ar1.nobs))
    # the same data, the same kind of answer: the two dfs within a tenth of each other
    np.testing.assert_allclose(kr["df"], satterthwaite["df"], rtol=0.1)
    assert np.all(kr["Std. Error"] >= ar1.se * (1 - 1e-9))  # KR inflates the covariance


def test_profile_of_ar1_brackets_the_estimates(ar1):
    ci = ar1.confint("profile")
    assert list(ci.index[:3]) == ["sd_ar1|Subject", "rho_ar1|Subject", "sigma"]
    sd, rho = (ar1.varcorr["sdcor"].iloc[0], ar1.varcorr["sdcor"].iloc[10])
    estimates = [sd, rho, ar1.sigma, *ar1.fixef]
    for (low, high), value in zip(ci.to_numpy(), estimates, strict=True):
        assert low < value < high
    assert ci.loc["rho_ar1|Subject", "lower"] >= -1
    assert ci.loc["rho_ar1|Subject", "upper"] <= 1


def test_homcs_profile_of_sigma_and_intercept_equals_the_nested_model():
    data = reference_data("pastes")
    homcs = _fit("strength ~ 1 + homcs(0 + cask | batch)", data).confint("profile")
    nested = _fit("strength ~ 1 + (1 | batch) + (1 | batch:cask)", data).confint("profile")
    for name in ("sigma", "(Intercept)"):
        np.testing.assert_allclose(homcs.loc[name], nested.loc[name], rtol=1e-4)


def test_bootstrap_of_ar1(ar1):
    table = ar1.bootstrap(n=8, seed=3, progress=False)
    again = ar1.bootstrap(n=8, seed=3, progress=False)
    assert {"Subject.ar1.sd", "Subject.ar1.rho", "rho_ar1|Subject"} <= set(table.columns)
    np.testing.assert_array_equal(table.to_numpy(), again.to_numpy())
    assert not table.isna().any().any()
    rho = table["rho_ar1|Subject"]
    assert np.all((rho >= -1) & (rho <= 1))


def test_likelihood_ratio_test_of_ar1_against_the_random_intercept(sleep, ar1):
    intercept = _fit("Reaction ~ Days + (1 | Subject)", sleep)
    both = _fit("Reaction ~ Days + (1 | Subject) + ar1(0 + C(Days) | Subject)", sleep)
    table = mm.anova(intercept, both)
    assert list(table["npar"]) == [4, 6]
    assert table["Pr(>Chisq)"].iloc[1] < 0.05
    assert both.loglik >= ar1.loglik - 1e-6  # nested: ar1 alone is both at a zero intercept SD


@pytest.mark.parametrize(
    "formula",
    [
        "Reaction ~ Days + ar1(0 + C(Days) | Subject)",
        "Reaction ~ Days + (1 | Subject) + ar1(0 + C(Days) | Subject)",
        "Reaction ~ Days + cs(1 + Days | Subject)",
        "Reaction ~ Days + diag(Days | Subject)",
    ],
)
@pytest.mark.parametrize("ddf", ["Satterthwaite", "Kenward-Roger"])
def test_anova_of_one_structured_fit_is_the_squared_t_test(sleep, formula, ddf):
    fit = _fit(formula, sleep)
    row = mm.anova(fit, ddf=ddf).table.loc["Days"]
    t = coef_table(fit, ddf=ddf).loc["Days"]
    assert row["F value"] == pytest.approx(t["t value"] ** 2, rel=1e-10)
    assert row["DenDF"] == pytest.approx(t["df"], rel=1e-10)
    assert 5 < row["DenDF"] < fit.nobs


def test_ranova_refits_keep_the_other_terms_structures(sleep, ar1):
    both = _fit("Reaction ~ Days + (1 | Subject) + ar1(0 + C(Days) | Subject)", sleep)
    intercept = _fit("Reaction ~ Days + (1 | Subject)", sleep)
    table = both.ranova().table
    assert list(table.index) == ["<none>", "(1 | Subject)", "ar1(0 + C(Days) | Subject)"]
    # without the intercept term the model is ar1 alone; without ar1 the intercept model
    assert table.loc["(1 | Subject)", "logLik"] == pytest.approx(ar1.loglik, abs=1e-6)
    assert table.loc["ar1(0 + C(Days) | Subject)", "logLik"] == pytest.approx(
        intercept.loglik, abs=1e-6
    )
    assert list(table["Df"].iloc[1:]) == [1, 2]


def test_step_keeps_a_structured_term(sleep):
    both = _fit("Reaction ~ Days + (1 | Subject) + ar1(0 + C(Days) | Subject)", sleep)
    result = both.step()
    assert "ar1(0 + C(Days) | Subject)" in result.formula
    assert "(1 | Subject)" not in result.formula  # its variance is near zero (LRT p ~ 0.68)
    assert result.model.objective == pytest.approx(
        _fit("Reaction ~ Days + ar1(0 + C(Days) | Subject)", sleep).objective, abs=1e-6
    )
