"""The ray to sigma -> 0: the per-group GLS criterion and solve against the engine and glmmTMB."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import mixedmodels as mm
from mixedmodels.linalg import solve_at_optimum
from mixedmodels.model import LinearMixedModel
from mixedmodels.residual_boundary import GLS_FROM

SITKA = json.loads((Path(__file__).parent / "reference" / "sitka_ar1.json").read_text())


@pytest.fixture(scope="module")
def sleep_ar1():
    return mm.lmer("Reaction ~ Days + ar1(0 + C(Days) | Subject)", mm.datasets.load("sleepstudy"))


@pytest.mark.parametrize("REML", [True, False])
@pytest.mark.parametrize("scale", [0.3, 1.0, 4.0])
def test_grouped_gls_is_the_engines_criterion_away_from_the_boundary(sleep_ar1, REML, scale):
    model = sleep_ar1.model
    theta = sleep_ar1.theta * np.array([scale, 1.0])
    lam = model.lambdas(theta)[0]
    assert model.grouped_gls(lam, REML) == pytest.approx(
        model.objective(theta, REML=REML), abs=1e-8
    )


def test_grouped_gls_solve_is_the_engines(sleep_ar1):
    model, theta = sleep_ar1.model, sleep_ar1.theta
    lams = model.lambdas(theta)
    engine = solve_at_optimum(model.workspace, model.factor(theta), lams[0], lams[1:])
    refined = model.grouped_gls.refine(engine, lams[0])
    np.testing.assert_allclose(refined.beta, engine.beta, rtol=1e-9)
    np.testing.assert_allclose(refined.u[0], engine.u[0], rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(refined.beta_cov_unscaled, engine.beta_cov_unscaled, rtol=1e-8)


def test_no_grouped_gls_for_several_factors_or_weights():
    sleep = mm.datasets.load("sleepstudy")
    assert LinearMixedModel("Reaction ~ Days + (Days | Subject)", sleep).grouped_gls is None
    weighted = LinearMixedModel(
        "Reaction ~ Days + ar1(0 + C(Days) | Subject)", sleep, weights=np.full(len(sleep), 2.0)
    )
    assert weighted.grouped_gls is None


@pytest.mark.parametrize("spec", SITKA["models"], ids=[m["id"] for m in SITKA["models"]])
def test_sitka_ar1_at_the_boundary_against_glmmtmb(spec):
    """glmmTMB's criterion reached (or, for two terms on the tree, nearly: the engine's factor
    fails further along the ray) and never undercut: the criterion is not rounding noise."""
    data = mm.datasets.load("sitka")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mm.errors.SingularFitWarning)
        fit = mm.lmer(spec["formula"], data, REML=spec["REML"])
    assert fit.optsum.residual_boundary
    assert np.max(np.abs(fit.theta[: 1 + ("(1 | tree)" in spec["formula"])])) > GLS_FROM
    # glmmTMB stops at a small finite sigma; the criterion's limit along the ray may lie a
    # little lower (Sitka (1 | tree) + ar1 REML: 8.8e-6). Rounding noise (once 5.1 below) is
    # told apart by the per-group criterion further along the ray: it must keep falling, by
    # less than 1e-6 (the fit is at the limit), and the fit's value must be that criterion's.
    model, k = fit.model, 1 + ("(1 | tree)" in spec["formula"])
    further = fit.theta.copy()
    further[:k] *= 10
    limit = model.grouped_gls(model.lambdas(further)[0], spec["REML"])
    here = model.grouped_gls(model.lambdas(fit.theta)[0], spec["REML"])
    assert here == pytest.approx(fit.objective, abs=1e-8)
    assert limit <= fit.objective + 1e-9
    assert fit.objective - limit < 1e-6
    assert fit.objective >= spec["objective"] - 1e-4
    assert fit.objective <= spec["objective"] + spec["tolerance"]
