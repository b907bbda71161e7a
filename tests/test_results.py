"""Accessors, predictions, refits and the printed summary of a fitted model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.errors import DesignError, MissingColumnError

SLEEP = mm.datasets.load("sleepstudy")
FIT = mm.lmer("Reaction ~ Days + (Days | Subject)", SLEEP)


def test_predict_on_training_data_equals_fitted():
    assert np.allclose(FIT.predict(SLEEP), FIT.fitted, rtol=1e-12)
    assert np.allclose(FIT.predict(), FIT.fitted, rtol=1e-12)


def test_predict_fixed_only():
    new = pd.DataFrame({"Days": [0.0, 5.0], "Subject": ["308", "309"]})
    got = FIT.predict(new, re_form="~0")
    want = FIT.fixef["(Intercept)"] + FIT.fixef["Days"] * new["Days"]
    assert np.allclose(got, want)


def test_predict_by_hand_with_random_effects():
    new = pd.DataFrame({"Days": [2.5, 7.0], "Subject": ["333", "372"]})
    re = FIT.ranef["Subject"]
    want = [
        FIT.fixef["(Intercept)"]
        + re.loc[s, "(Intercept)"]
        + (FIT.fixef["Days"] + re.loc[s, "Days"]) * d
        for d, s in zip(new["Days"], new["Subject"])
    ]
    assert np.allclose(FIT.predict(new), want)


def test_predict_new_levels():
    new = pd.DataFrame({"Days": [1.0, 1.0], "Subject": ["999", "308"]})
    with pytest.raises(DesignError, match="new levels.*999"):
        FIT.predict(new)
    got = FIT.predict(new, allow_new_levels=True)
    assert got.iloc[0] == pytest.approx(FIT.fixef["(Intercept)"] + FIT.fixef["Days"])
    assert got.iloc[1] == pytest.approx(FIT.predict(new.iloc[[1]]).iloc[0])


def test_predict_missing_column():
    with pytest.raises(MissingColumnError, match="Days"):
        FIT.predict(pd.DataFrame({"Subject": ["308"]}))


def test_predict_keeps_categorical_encoding():
    data = SLEEP.assign(phase=np.where(SLEEP["Days"] < 5, "early", "late"))
    fit = mm.lmer("Reaction ~ phase + (1|Subject)", data)
    new = pd.DataFrame({"phase": ["late"], "Subject": ["308"]})  # one level only
    want = (
        fit.fixef["(Intercept)"]
        + fit.fixef["phaselate"]
        + fit.ranef["Subject"].loc["308", "(Intercept)"]
    )
    assert fit.predict(new).iloc[0] == pytest.approx(want)


def test_refit_reuses_the_model():
    model = FIT.model
    again = model.refit(SLEEP["Reaction"].to_numpy())
    assert again.objective == pytest.approx(FIT.objective, abs=1e-8)
    doubled = model.refit(2 * SLEEP["Reaction"].to_numpy())
    assert doubled.sigma == pytest.approx(2 * FIT.sigma, rel=1e-5)
    assert np.allclose(doubled.fixef, 2 * FIT.fixef, rtol=1e-5)
    with pytest.raises(DesignError):
        model.refit(np.ones(3))


def test_ml_and_reml_criteria():
    ml = mm.lmer("Reaction ~ Days + (Days | Subject)", SLEEP, REML=False)
    assert ml.objective == pytest.approx(ml.deviance)
    assert ml.loglik == pytest.approx(-ml.deviance / 2)
    assert FIT.objective == pytest.approx(FIT.reml_criterion)
    # the ML deviance evaluated at the REML estimates is not below the ML optimum
    assert FIT.deviance >= ml.deviance - 1e-8


def test_summary_text_html_markdown():
    text = str(FIT.summary())
    for part in (
        "REML criterion at convergence: 1743.6283",
        "Subject",
        "Residual",
        "Number of obs: 180, groups:  Subject, 18",
        "(Intercept)",
        "t value",
        "Correlation of Fixed Effects",
        "(Intr)",
    ):
        assert part in text
    html = FIT._repr_html_()
    assert "<table" in html
    assert "Subject" in html
    assert "| (Intercept) |" in FIT.summary().to_markdown()
    assert "objective 1743.6283" in repr(FIT)


def test_singular_fit_is_stated_in_summary():
    with pytest.warns(mm.SingularFitWarning):
        fit = mm.lmer("Yield ~ 1 + (1|Batch)", mm.datasets.load("dyestuff2"))
    assert fit.is_singular
    assert "singular" in str(fit.summary())


def test_coef_adds_random_to_fixed():
    coef = FIT.coef["Subject"]
    assert np.allclose(coef["Days"], FIT.fixef["Days"] + FIT.ranef["Subject"]["Days"])


def test_datasets():
    assert "sleepstudy" in mm.datasets.names()
    assert mm.datasets.load("InstEval").shape == (73421, 7)
    with pytest.raises(KeyError, match="available"):
        mm.datasets.load("nope")


def test_stateful_transforms_fit_and_predict_with_training_state():
    plain = mm.lmer("Reaction ~ Days + (Days | Subject)", SLEEP)
    scaled = mm.lmer("Reaction ~ center(Days) + (scale(Days) | Subject)", SLEEP)
    # a linear reparameterisation of the same model: same optimum, same slope
    assert scaled.objective == pytest.approx(plain.objective, abs=1e-6)
    assert scaled.fixef["center(Days)"] == pytest.approx(plain.fixef["Days"], rel=1e-6)
    # predictions on a few rows use the centre and scale of the training data
    head = SLEEP.head(3)
    assert np.allclose(scaled.predict(head), plain.predict(head), rtol=1e-6)
