"""The facade against statsmodels itself on the five fits of its MixedLM notebook.

Our REML criterion must never be worse than statsmodels' (it is much better where statsmodels
stops early: 4440.78 against the optimum 4434.09 on the dietox random slope); where
statsmodels reports convergence the estimates must agree.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import load_reference
from facade_fits import notebook_fits

from mixedmodels import datasets

smapi = pytest.importorskip("statsmodels.api")
from statsmodels.regression.mixed_linear_model import (  # noqa: E402
    MixedLMParams as StatsmodelsParams,
)

NOTEBOOK = ["dietox_ri", "dietox_rs", "dietox_indep", "sitka_ri", "sitka_rs"]


def statsmodels_fits() -> dict:
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = datasets.load("dietox")
        out["dietox_ri"] = smapi.MixedLM.from_formula(
            "Weight ~ Time", data, groups=data["Pig"]
        ).fit()
        model = smapi.MixedLM.from_formula(
            "Weight ~ Time", data, re_formula="Time", groups=data["Pig"]
        )
        out["dietox_rs"] = model.fit()
        free = StatsmodelsParams.from_components(np.ones(2), np.eye(2))
        out["dietox_indep"] = model.fit(free=free)
        data = datasets.load("sitka")
        data["Intercept"] = 1
        exog = data[["Intercept", "Time"]]
        out["sitka_ri"] = smapi.MixedLM(data["size"], exog, data["tree"], exog.iloc[:, 0]).fit()
        out["sitka_rs"] = smapi.MixedLM(data["size"], exog, data["tree"], np.asarray(exog)).fit()
    return out


@pytest.fixture(scope="module")
def both():
    return notebook_fits(), statsmodels_fits()


@pytest.mark.parametrize("name", NOTEBOOK)
def test_criterion_never_worse_than_statsmodels(both, name):
    ours, theirs = both[0][name], both[1][name]
    assert -2 * ours.llf <= -2 * theirs.llf + 1e-6


def test_dietox_random_slope_beats_statsmodels(both):
    ours, theirs = both[0]["dietox_rs"], both[1]["dietox_rs"]
    assert -2 * theirs.llf - (-2 * ours.llf) > 1.0


REFERENCE = {"dietox_rs": "dietox_rs", "dietox_indep": "dietox_indep"}
"""Fits where statsmodels may stop short of the optimum, with their lme4 reference."""


def _stops_short(ours, theirs) -> bool:
    """statsmodels' criterion is worse than ours by more than rounding (1e-6 relative)."""
    return -2 * theirs.llf > -2 * ours.llf + 1e-6 * max(1.0, abs(ours.llf))


@pytest.mark.parametrize("name", NOTEBOOK)
def test_same_estimates_where_statsmodels_converges(both, name):
    ours, theirs = both[0][name], both[1][name]
    if not theirs.converged:
        pytest.skip(f"statsmodels does not converge on {name}")
    if _stops_short(ours, theirs):
        # statsmodels 0.15 reports convergence on dietox_indep at REML 4440.20, 5.5 above the
        # optimum 4434.696 (lme4's too): compare ours with lme4 there instead.
        pytest.skip(f"statsmodels reports convergence at a worse optimum on {name}")
    np.testing.assert_allclose(np.asarray(ours.fe_params), np.asarray(theirs.fe_params), rtol=1e-4)
    np.testing.assert_allclose(ours.scale, theirs.scale, rtol=1e-4)
    cov_ours, cov_theirs = np.asarray(ours.cov_re), np.asarray(theirs.cov_re)
    sd = np.sqrt(np.diag(cov_theirs))
    np.testing.assert_allclose(cov_ours, cov_theirs, atol=1e-4 * np.outer(sd, sd).max(), rtol=1e-4)
    np.testing.assert_allclose(np.diag(cov_ours), np.diag(cov_theirs), rtol=1e-4)
    # standard errors in statsmodels' parameterisation (observed information)
    np.testing.assert_allclose(np.asarray(ours.bse), np.asarray(theirs.bse), rtol=1e-3)
    assert list(np.asarray(ours.model.param_names)) == list(theirs.model.data.param_names)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_lme4_estimates_where_statsmodels_stops_short(both, name):
    ours = both[0][name]
    reference = load_reference(REFERENCE[name])
    assert -2 * ours.llf == pytest.approx(reference["objective"], abs=1e-6)
    fixef = np.asarray(list(reference["fixef"].values()))
    np.testing.assert_allclose(np.asarray(ours.fe_params), fixef, rtol=1e-5)
    np.testing.assert_allclose(np.sqrt(ours.scale), reference["sigma"], rtol=1e-5)
