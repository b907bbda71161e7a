"""Covariance and df of linear functions of a fit's fixed effects (inference.linear_inference)."""

from __future__ import annotations

import numpy as np
import pytest

import mixedmodels as mm
from mixedmodels.errors import InferenceError
from mixedmodels.inference.linear_inference import LinearInference
from mixedmodels.inference.satterthwaite import contrast_df, satterthwaite_info


@pytest.fixture(scope="module")
def fit():
    return mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))


def test_kenward_roger_is_the_default_for_reml_fits(fit):
    assert LinearInference.for_fit(fit, None).method == "Kenward-Roger"
    assert LinearInference.for_fit(fit, "satterthwaite").method == "Satterthwaite"
    assert LinearInference.for_fit(fit, "asymptotic").method == "asymptotic"


def test_an_ml_fit_falls_back_to_satterthwaite_with_a_note():
    ml = mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"), REML=False)
    chosen = LinearInference.for_fit(ml, None)
    assert chosen.method == "Satterthwaite"
    assert "an ML fit" in chosen.notes[0]


def test_an_unknown_method_is_our_error(fit):
    with pytest.raises(InferenceError, match="ddf must be"):
        LinearInference.for_fit(fit, "containment")


def test_estimates_are_l_beta_with_their_standard_errors(fit):
    inference = LinearInference.for_fit(fit, "Satterthwaite")
    L = np.array([[1.0, 0.0], [1.0, 5.0]])
    table = inference.estimate(L)
    beta, V = np.asarray(fit.fixef), fit.vcov.to_numpy()
    np.testing.assert_allclose(table["estimate"], L @ beta, rtol=1e-12)
    np.testing.assert_allclose(table["SE"], np.sqrt(np.diag(L @ V @ L.T)), rtol=1e-12)
    info = satterthwaite_info(fit)
    np.testing.assert_allclose(table["df"], [contrast_df(info, row) for row in L], rtol=1e-12)
    np.testing.assert_allclose(inference.covariance(L), L @ V @ L.T, rtol=1e-12)


def test_kenward_rogers_covariance_is_at_least_the_plain_one(fit):
    kr = LinearInference.for_fit(fit, None)
    plain = fit.vcov.to_numpy()
    assert np.all(np.linalg.eigvalsh(kr.vcov - plain) >= -1e-10)


def test_asymptotic_df_are_infinite_and_rows_not_estimable_are_nan(fit):
    inference = LinearInference.for_fit(fit, "asymptotic")
    L = np.array([[0.0, 1.0], [1.0, 1.0]])
    assert inference.df(L).tolist() == [np.inf, np.inf]
    table = inference.estimate(L, estimable=np.array([True, False]))
    assert np.isfinite(table["estimate"].iloc[0])
    assert np.isnan(table["estimate"].iloc[1])
    cov = inference.covariance(L, estimable=np.array([True, False]))
    assert np.isfinite(cov[0, 0])
    assert np.isnan(cov[1]).all()
    assert inference.estimable(L) is None  # a full-rank fit: every row is
