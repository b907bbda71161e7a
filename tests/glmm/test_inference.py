"""GLMM inference: Wald against lme4, profile ends at the chi-square cut, bootstrap, LRT."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

import mixedmodels as mm
from mixedmodels.glmm.inference import Profiler

from ._helpers import reference, reference_fit

CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"


def test_wald_intervals_and_z_tests_match_lme4():
    ref = reference("cbpp")
    fit, _ = reference_fit("cbpp")
    ci = fit.confint("wald")
    assert list(ci.index) == ["sd_(Intercept)|herd", *ref["fixef"]]
    assert ci.iloc[0].isna().all()  # variance parameters: no Wald interval (lme4)
    z = sps.norm.ppf(0.975)
    for name, estimate in ref["fixef"].items():
        se = ref["se"][name]
        # lme4 takes its Hessian at its own optimum (-2 log L 5.7e-4 above the exact one)
        assert ci.loc[name, "lower"] == pytest.approx(estimate - z * se, abs=0.03 * se)
        p = fit.coef_table.loc[name, "Pr(>|z|)"]
        assert np.log10(p) == pytest.approx(np.log10(ref["wald_p"][name]), rel=0.05)


def test_profile_ends_sit_on_the_chi_square_cut():
    fit, _ = reference_fit("cbpp")
    ci = fit.confint("profile", which=["period2"])
    prof = Profiler(fit)
    cut = sps.chi2.ppf(0.95, 1)
    for name in ci.index:
        i = list(mm.glmm.inference.parameter_names(fit)).index(name)
        for end in ci.loc[name]:
            zeta, _ = prof.zeta(i, float(end), prof.estimate.copy())
            assert zeta**2 == pytest.approx(cut, abs=2e-3)
        assert ci.loc[name, "lower"] < prof.estimate[i] < ci.loc[name, "upper"]


def test_bootstrap_is_reproducible_and_centred():
    fit, _ = reference_fit("cbpp")
    first = fit.bootstrap(n=6, seed=5)
    second = fit.bootstrap(n=6, seed=5)
    assert first.shape == (6, 1 + 1 + 4 + 1)
    np.testing.assert_array_equal(first.to_numpy(), second.to_numpy())
    assert abs(first["period2"].mean() - fit.fixef["period2"]) < 3 * fit.se["period2"]
    ci = fit.confint("boot", boot=first)
    assert (ci["lower"] <= ci["upper"]).all()


def test_simulate_shapes_and_scale():
    fit, _ = reference_fit("cbpp")
    sims = fit.simulate(nsim=4, seed=1)
    assert sims.shape == (fit.nobs, 4)
    assert ((sims >= 0) & (sims <= 1)).all()
    no_random = fit.simulate(nsim=200, seed=2, re_form="~0").mean(axis=1)
    mean = mm.glmm.links.get_link("logit").linkinv(fit.design.X @ fit.beta)
    assert np.max(np.abs(no_random - mean)) < 0.1
    with pytest.raises(mm.InferenceError, match="nsim"):
        fit.simulate(nsim=0)


def test_likelihood_ratio_test_between_fits():
    data = mm.datasets.load("cbpp")
    small = mm.glmer("cbind(incidence, size - incidence) ~ 1 + (1 | herd)", data)
    large, _ = reference_fit("cbpp")
    table = mm.anova(small, large)
    chisq = 2 * (large.loglik - small.loglik)
    assert table["Chisq"].iloc[1] == pytest.approx(chisq)
    assert table["Df"].iloc[1] == 3
    with pytest.raises(mm.InferenceError, match="anova of one GLMM fit"):
        mm.anova(large)


def test_overdispersion_statistic():
    fit, _ = reference_fit("cbpp")
    stats = fit.overdispersion()
    pearson = fit.residuals("pearson").to_numpy()
    assert stats["chisq"] == pytest.approx(float(pearson @ pearson))
    assert stats["df"] == fit.nobs - fit.df
    assert 0 < stats["p_value"] < 1


def test_summary_mentions_family_and_method():
    fit, _ = reference_fit("cbpp_agq9")
    text = str(fit.summary())
    assert "Family: binomial  ( logit )" in text
    assert "Adaptive Gauss-Hermite Quadrature, nAGQ = 9" in text
    assert "Pr(>|z|)" in text
    with pytest.raises(mm.InferenceError, match="method must be one of"):
        fit.confint("nope")
