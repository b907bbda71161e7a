"""A fit's methods hand it to the inference, summaries and workflow modules (results_methods).

Each method gives what its module's function gives for the fit, and that answer is checked
against a value computed here from the fit's estimates.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mixedmodels as mm
from mixedmodels.inference.confint import confint
from mixedmodels.summaries.r2 import icc, r2_nakagawa
from mixedmodels.summaries.tidy import glance, tidy
from mixedmodels.workflow import get_me


@pytest.fixture(scope="module")
def fit():
    return mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))


def test_test_of_one_coefficient_is_the_square_of_its_t(fit):
    table = fit.test(np.array([[0.0, 1.0]]))
    t = fit.fixef["Days"] / np.sqrt(fit.vcov.loc["Days", "Days"])
    assert float(table.iloc[0]["F value"]) == pytest.approx(t**2, rel=1e-10)


def test_wald_intervals_are_the_estimate_plus_minus_z_standard_errors(fit):
    table = fit.confint(method="wald")
    pd.testing.assert_frame_equal(table, confint(fit, method="wald"))
    z = stats.norm.ppf(0.975)
    se = np.sqrt(fit.vcov.loc["Days", "Days"])
    row = table.loc["Days"]
    assert row.iloc[0] == pytest.approx(fit.fixef["Days"] - z * se, rel=1e-10)
    assert row.iloc[1] == pytest.approx(fit.fixef["Days"] + z * se, rel=1e-10)


def test_simulate_draws_rows_by_nsim_and_is_seeded(fit):
    first = fit.simulate(nsim=3, seed=1)
    assert first.shape == (180, 3)
    np.testing.assert_array_equal(first, fit.simulate(nsim=3, seed=1))
    assert abs(first.mean() - fit.fitted.mean()) < 10.0
    with_u = fit.simulate(nsim=200, seed=2, use_u=True)  # the fitted random effects kept
    np.testing.assert_allclose(
        with_u.mean(axis=1), fit.fitted, atol=4 * fit.sigma / np.sqrt(200) * 3
    )


def test_r2_and_icc_are_the_summaries(fit):
    assert fit.r2() == r2_nakagawa(fit)
    assert fit.icc() == icc(fit)
    r2 = fit.r2()
    assert 0.0 < r2["R2_marginal"] < r2["R2_conditional"] < 1.0


def test_tidy_and_glance_are_the_tables(fit):
    pd.testing.assert_frame_equal(fit.tidy(), tidy(fit))
    pd.testing.assert_frame_equal(fit.glance(), glance(fit))
    assert float(fit.glance()["nobs"].iloc[0]) == 180


def test_augment_adds_fitted_values_and_residuals(fit):
    table = fit.augment()
    np.testing.assert_allclose(table[".fitted"], fit.fitted)
    np.testing.assert_allclose(table[".fitted"] + table[".resid"], table["Reaction"])


def test_leverage_and_cooks_distance_have_a_value_per_row(fit):
    h = fit.leverage()
    assert len(h) == 180
    assert np.all((h > 0) & (h < 1))
    d = fit.cooks_distance()
    assert len(d) == 180
    assert np.all(d >= 0)


def test_get_me_is_workflows(fit):
    np.testing.assert_array_equal(fit.get_me("X"), get_me(fit, "X"))
    assert fit.get_me("X").shape == (180, 2)


def test_update_refits_with_another_formula(fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        smaller = fit.update("Reaction ~ Days + (1 | Subject)")
        direct = mm.lmer("Reaction ~ Days + (1 | Subject)", mm.datasets.load("sleepstudy"))
    assert smaller.objective == direct.objective
    assert smaller.objective > fit.objective


def test_ranova_tests_the_random_slope_by_the_likelihood_ratio(fit):
    table = fit.ranova().to_frame()
    assert len(table) == 2  # the model, then the term reduced
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reduced = mm.lmer("Reaction ~ Days + (1 | Subject)", mm.datasets.load("sleepstudy"))
    lrt = reduced.objective - fit.objective  # both REML: the REML criteria's difference
    assert float(table["LRT"].iloc[1]) == pytest.approx(lrt, rel=1e-6)


def test_save_writes_a_fit_that_loads_back(fit, tmp_path):
    path = fit.save(tmp_path / "fit.json")
    loaded = mm.load_fit(path, mm.datasets.load("sleepstudy"))
    np.testing.assert_array_equal(loaded.theta, fit.theta)
    assert loaded.objective == fit.objective
    assert loaded.optsum.cholmod == fit.optsum.cholmod


def test_emmeans_of_a_numeric_covariate_at_its_mean(fit):
    means = fit.emmeans("Days")
    value = float(np.asarray(means.table["emmean"])[0])
    assert value == pytest.approx(fit.fixef["(Intercept)"] + fit.fixef["Days"] * 4.5, rel=1e-10)


def test_plot_is_one_accessor_per_fit(fit):
    assert fit.plot is fit.plot
