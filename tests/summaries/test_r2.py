"""Nakagawa's R2 and the ICC against performance 0.10.2 / insight 0.19.0 (make_postfit.R)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from inference._postfit import POSTFIT_IDS, REFERENCE, fit_at_r_theta, postfit_reference, result_at

import mixedmodels as mm
from mixedmodels.summaries import icc, r2_nakagawa, variance_components


@pytest.mark.parametrize("name", POSTFIT_IDS)
def test_r2_and_icc_match_performance(name):
    fit, ref = fit_at_r_theta(name), postfit_reference(name)
    r2, ic = r2_nakagawa(fit), icc(fit)
    assert r2["R2_conditional"] == pytest.approx(ref["r2"]["conditional"], abs=1e-6)
    assert r2["R2_marginal"] == pytest.approx(ref["r2"]["marginal"], abs=1e-6)
    assert ic["ICC_adjusted"] == pytest.approx(ref["icc"]["adjusted"], abs=1e-6)
    assert ic["ICC_unadjusted"] == pytest.approx(ref["icc"]["unadjusted"], abs=1e-6)


@pytest.mark.parametrize("name", POSTFIT_IDS)
def test_variance_components_match_insight(name):
    v = variance_components(fit_at_r_theta(name))
    want = postfit_reference(name)["variance"]
    assert v.fixed == pytest.approx(want["var.fixed"], rel=1e-8)
    assert v.random == pytest.approx(want["var.random"], rel=1e-8)
    assert v.residual == pytest.approx(want["var.residual"], rel=1e-8)


def test_random_slope_variance_is_johnsons_mean():
    """dietox (1 + Time | Pig): the random variance is the mean of z' Sigma z over the rows."""
    fit = fit_at_r_theta("dietox")
    vc = fit.varcorr
    s00 = vc.loc[(vc.var1 == "(Intercept)") & vc.var2.isna(), "vcov"].item()
    s11 = vc.loc[(vc.var1 == "Time") & vc.var2.isna(), "vcov"].item()
    s01 = vc.loc[vc.var2.notna() & (vc.grp == "Pig"), "vcov"].item()
    t = mm.datasets.load("dietox")["Time"].to_numpy(dtype=float)
    want = np.mean(s00 + 2 * s01 * t + s11 * t**2)
    assert variance_components(fit).random == pytest.approx(want, rel=1e-12)


def test_sleepstudy_methods_on_the_result():
    ref = json.loads((REFERENCE / "postfit_compare.json").read_text())["sleepstudy"]
    model = mm.LinearMixedModel(
        "Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy")
    )
    fit = result_at(model, ref["theta"][0])
    assert fit.r2()["R2_conditional"] == pytest.approx(ref["r2"]["conditional"], abs=1e-6)
    assert fit.icc()["ICC_adjusted"] == pytest.approx(ref["icc"]["adjusted"], abs=1e-6)
