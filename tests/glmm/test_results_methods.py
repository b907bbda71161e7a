"""A GLMM fit's methods hand it to the inference and summaries modules (glmm.results_methods).

On lme4's cbpp model: each method gives what its module's function gives, checked against
values computed here from the fit's estimates or lme4's reference.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import expit

import mixedmodels as mm
from mixedmodels.glmm import glmer
from mixedmodels.glmm.inference import confint, simulate
from mixedmodels.inference.glmm_lrt import drop1_glmer
from mixedmodels.summaries.tidy import glance, tidy

from ._helpers import reference

REF = reference("cbpp")


@pytest.fixture(scope="module")
def fit():
    return glmer(REF["formula"], mm.datasets.load("cbpp"), family="binomial")


def test_wald_intervals_are_the_estimate_plus_minus_z_standard_errors(fit):
    table = fit.confint()
    pd.testing.assert_frame_equal(table, confint(fit, method="wald"))
    z = stats.norm.ppf(0.975)
    se = fit.se["period2"]
    assert se == pytest.approx(REF["se"]["period2"], rel=2e-2)
    assert table.loc["period2"].iloc[0] == pytest.approx(fit.fixef["period2"] - z * se, rel=1e-10)
    assert table.loc["period2"].iloc[1] == pytest.approx(fit.fixef["period2"] + z * se, rel=1e-10)


def test_simulate_is_seeded_and_draws_counts_within_the_trials(fit):
    draws = fit.simulate(nsim=4, seed=3)
    np.testing.assert_array_equal(draws, simulate(fit, nsim=4, seed=3))
    assert draws.shape[1] == 4
    size = mm.datasets.load("cbpp")["size"].to_numpy()
    counts = draws * size[:, None] if np.all(draws <= 1.0) else draws
    assert np.all(counts >= 0)
    assert np.all(counts <= size[:, None] + 1e-9)


def test_tidy_and_glance_are_the_tables(fit):
    pd.testing.assert_frame_equal(fit.tidy(), tidy(fit))
    pd.testing.assert_frame_equal(fit.glance(), glance(fit))
    assert float(fit.glance()["nobs"].iloc[0]) == REF["nobs"]


def test_r2_orders_marginal_below_conditional(fit):
    r2 = fit.r2()
    assert 0.0 < r2["R2_marginal"] < r2["R2_conditional"] < 1.0
    assert set(fit.icc())
    assert all(0.0 < v < 1.0 for v in fit.icc().values())


def test_drop1_tests_period_by_the_likelihood_ratio(fit):
    frame = fit.drop1().to_frame()
    pd.testing.assert_frame_equal(frame, drop1_glmer(fit, None).to_frame())
    smaller = glmer(
        "cbind(incidence, size - incidence) ~ 1 + (1 | herd)",
        mm.datasets.load("cbpp"),
        family="binomial",
    )
    lrt = smaller.minus2loglik - fit.minus2loglik
    assert frame.loc["period", "LRT"] == pytest.approx(lrt, rel=1e-4)
    assert frame.loc["period", "npar"] == 3
    assert frame.loc["period", "Pr(Chi)"] == pytest.approx(stats.chi2.sf(lrt, 3), rel=1e-3)


def test_leverage_and_cooks_distance_have_a_value_per_row(fit):
    h = fit.leverage()
    assert len(h) == REF["nobs"]
    assert np.all((h > 0) & (h < 1))
    d = fit.cooks_distance()
    assert len(d) == REF["nobs"]
    assert np.all(d >= 0)


def test_augment_adds_the_linear_predictor(fit):
    table = fit.augment()
    np.testing.assert_allclose(table[".fitted"], fit.linear_predictor, rtol=1e-12)
    np.testing.assert_allclose(expit(table[".fitted"]), fit.fitted, rtol=1e-12)


def test_emmeans_on_the_link_scale(fit):
    means = fit.emmeans("period")
    values = np.asarray(means.table["emmean"], dtype=float)
    beta = np.asarray(fit.fixef)
    np.testing.assert_allclose(values, beta[0] + np.concatenate([[0.0], beta[1:]]), rtol=1e-10)
