"""Leverage, Cook's distance and deletion diagnostics against lme4 (hatvalues, cooks.distance,
influence.merMod) and against their definitions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _postfit import MODELS, fit, fit_at_reference, reference

import mixedmodels as mm
from mixedmodels.errors import DesignError
from mixedmodels.influence import cooks_distance, influence, leverage


@pytest.mark.parametrize("name", MODELS)
def test_leverage_and_cooks_distance_equal_lme4_at_its_theta(name):
    ref = reference(name)
    at = fit_at_reference(name)
    np.testing.assert_allclose(leverage(at), ref["hatvalues"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(cooks_distance(at), ref["cooks_distance"], rtol=1e-8)


@pytest.mark.parametrize("name", MODELS)
def test_leverage_at_our_optimum_is_close_to_lme4(name):
    ref = reference(name)
    own = fit(name)
    assert own.objective <= ref["objective"] + 1e-6
    np.testing.assert_allclose(own.leverage(), ref["hatvalues"], atol=2e-6)
    np.testing.assert_allclose(own.cooks_distance(), ref["cooks_distance"], rtol=2e-3)


def test_leverage_is_indexed_by_the_used_rows_and_sums_to_the_trace():
    sleep = mm.datasets.load("sleepstudy")
    sleep.loc[[3, 7], "Reaction"] = np.nan
    own = mm.lmer("Reaction ~ Days + (Days | Subject)", sleep)
    h = own.leverage()
    assert list(h.index) == [i for i in sleep.index if i not in (3, 7)]
    assert h.between(0, 1).all()
    # trace of the hat matrix: p plus the effective number of random effects, below p + q
    assert own.n_fixed < h.sum() < own.n_fixed + 36


@pytest.mark.parametrize("name", MODELS)
def test_group_deletion_equals_lme4_influence(name):
    ref = reference(name)
    own = fit(name)
    infl = influence(own, ref["influence_group"])
    assert list(infl.units) == ref["influence_levels"]
    fixef = np.array(ref["influence_fixef"]).reshape(infl.fixef.shape)
    # lme4's deletion refits stop at maxfun = 1000 evaluations: differences up to 5e-4 SEs
    assert np.max(np.abs(infl.fixef.to_numpy() - fixef) / own.se.to_numpy()) < 1e-3
    np.testing.assert_allclose(infl.cooks_distance, ref["influence_cooks"], rtol=5e-3, atol=1e-6)
    dfbetas = np.array(ref["influence_dfbetas"]).reshape(infl.dfbetas.shape)
    np.testing.assert_allclose(infl.dfbetas, dfbetas, rtol=5e-3, atol=1e-3)


def test_deletion_fit_is_a_fit_without_those_rows():
    sleep = mm.datasets.load("sleepstudy")
    own = mm.lmer("Reaction ~ Days + (Days | Subject)", sleep)
    infl = own.influence("Subject")
    without = mm.lmer(
        "Reaction ~ Days + (Days | Subject)", sleep[sleep["Subject"].astype(str) != "332"]
    )
    np.testing.assert_allclose(infl.fixef.loc["332"], without.fixef, rtol=1e-6)
    assert infl.sigma["332"] == pytest.approx(without.sigma, rel=1e-6)
    # influence.ME's Cook's distance is a rescaling of lme4's
    n, p = infl.fixef.shape
    ratio = infl.cooks_distance_me / infl.cooks_distance
    np.testing.assert_allclose(ratio, n / (n - p))
    assert set(infl.table.columns) >= {"cooks_distance", "sigma", "dfbetas_Days"}


def test_observation_deletion_matches_one_refit():
    pastes = mm.datasets.load("pastes")
    own = mm.lmer("strength ~ 1 + (1 | batch)", pastes.head(30))
    infl = own.influence()
    assert len(infl.units) == 30
    without = mm.lmer("strength ~ 1 + (1 | batch)", pastes.head(30).drop(index=4))
    assert infl.fixef.iloc[4, 0] == pytest.approx(without.fixef.iloc[0], rel=1e-7)


def test_unknown_group_is_a_clear_error():
    own = fit("sleepstudy")
    with pytest.raises(DesignError, match="no grouping factor 'Days'"):
        own.influence("Days")


def test_cooks_distance_series_shape():
    own = fit("penicillin")
    d = own.cooks_distance()
    assert isinstance(d, pd.Series)
    assert d.name == "cooks_distance"
    assert len(d) == own.nobs


def test_rows_of_weight_zero_are_not_fit_rows():
    sleep = mm.datasets.load("sleepstudy")
    sleep["w"] = 1.0
    sleep.loc[[0, 5], "w"] = 0.0
    weighted = mm.lmer("Reaction ~ Days + (Days | Subject)", sleep, weights="w")
    dropped = mm.lmer("Reaction ~ Days + (Days | Subject)", sleep.drop(index=[0, 5]))
    np.testing.assert_allclose(weighted.leverage(), dropped.leverage(), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(weighted.cooks_distance(), dropped.cooks_distance(), rtol=1e-4)
    assert list(weighted.leverage().index) == list(dropped.leverage().index)
    frame = weighted.predict_frame()
    assert len(frame) == weighted.nobs == 178
