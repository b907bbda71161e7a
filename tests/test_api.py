"""The entry points lmer and load_fit (mixedmodels.api)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import load_reference

import mixedmodels as mm
from mixedmodels.api import lmer, load_fit
from mixedmodels.errors import ArgumentError
from mixedmodels.model import LinearMixedModel

FORMULA = "Reaction ~ Days + (Days | Subject)"


@pytest.fixture(scope="module")
def sleep():
    return mm.datasets.load("sleepstudy")


def test_lmer_is_the_model_fitted(sleep):
    fit = lmer(FORMULA, sleep)
    by_model = LinearMixedModel(FORMULA, sleep).fit()
    np.testing.assert_array_equal(fit.theta, by_model.theta)
    assert fit.objective == by_model.objective
    assert fit.reml


def test_lmer_takes_ml_weights_and_control(sleep):
    ml = lmer(FORMULA, sleep, REML=False)
    assert not ml.reml
    assert ml.deviance == pytest.approx(load_reference("sleepstudy_rs_ml")["objective"], abs=1e-6)
    weighted = lmer(FORMULA, sleep, weights=np.full(len(sleep), 2.0))
    assert weighted.sigma == pytest.approx(lmer(FORMULA, sleep).sigma * np.sqrt(2.0), rel=1e-5)
    identity = lmer(FORMULA, sleep, control={"start": "identity"})
    assert identity.reml_criterion == pytest.approx(lmer(FORMULA, sleep).reml_criterion, abs=1e-6)


def test_an_unknown_keyword_names_the_spelling_lmer_takes(sleep):
    with pytest.raises(ArgumentError, match=r"'reml' \(did you mean 'REML'\?\)"):
        lmer(FORMULA, sleep, reml=False)
    with pytest.raises(ArgumentError, match=r"unknown keyword argument\(s\) 'family'"):
        lmer(FORMULA, sleep, family="binomial")


def test_load_fit_restores_the_saved_fit(sleep, tmp_path):
    fit = lmer(FORMULA, sleep)
    path = fit.save(tmp_path / "fit.json")
    restored = load_fit(path, sleep)
    np.testing.assert_array_equal(restored.theta, fit.theta)
    np.testing.assert_allclose(np.asarray(restored.fixef), np.asarray(fit.fixef), rtol=1e-12)
    assert restored.optsum.evaluations == fit.optsum.evaluations


def test_load_fit_refuses_other_data(sleep, tmp_path):
    path = lmer(FORMULA, sleep).save(tmp_path / "fit.json")
    other = sleep.assign(Reaction=sleep["Reaction"] + 1.0)
    with pytest.raises(mm.errors.MixedModelsError, match="other data"):
        load_fit(path, other)
