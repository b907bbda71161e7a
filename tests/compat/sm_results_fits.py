"""Fits shared by the results tests (test_sm_results, test_sm_tests, test_sm_summary...).

Each model fitted by the facade and by statsmodels 0.15, and statsmodels restarted at the
facade's optimum (fitted once per process).

statsmodels' gradient optimiser stops within about 1e-5 of the optimum in the estimates;
restarted from our estimates it stays there, so ``at_ours`` is statsmodels' own result at
our optimum and every derived quantity (standard errors, tests, tables) compares to 1e-6.
A module rather than a conftest.py (tests/test_reference.py imports ``conftest`` by name).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
import pytest

import mixedmodels.compat.statsmodels as sm
from mixedmodels import datasets

smapi = pytest.importorskip("statsmodels.api")
from statsmodels.regression.mixed_linear_model import (  # noqa: E402
    MixedLMParams as StatsmodelsParams,
)

MODELS = {
    # name: (formula, re_formula, vc_formula, groups column, reml)
    "slope_reml": ("Weight ~ Time", "~Time", None, "Pig", True),
    "slope_ml": ("Weight ~ Time", "~Time", None, "Pig", False),
    "categorical": ("Weight ~ Time * C(Evit) + Cu", None, None, "Pig", True),
    "categorical_ml": ("Weight ~ Cu + Time:Feed + Start", None, None, "Pig", False),
    "vc": ("Weight ~ Time", "1", {"Pig": "0 + C(Pig)"}, "Litter", True),
}

ARRAY_MODELS = {
    # name: (reml,) Sitka, size ~ Time + treat, correlated intercept and slope per tree,
    # given as arrays (statsmodels' array interface)
    "sitka_arrays": True,
    "sitka_arrays_ml": False,
}

NAMES = [*MODELS, *ARRAY_MODELS]
"""Every model of this module."""


@dataclass(frozen=True)
class Pair:
    """One model: our fit, statsmodels' own fit and statsmodels restarted at our optimum."""

    ours: object
    theirs: object
    at_ours: object
    data: object


def _data():
    data = datasets.load("dietox")
    return data.dropna().reset_index(drop=True)


def _sitka_arrays():
    data = datasets.load("sitka")
    exog = pd.DataFrame(
        {
            "const": 1.0,
            "Time": data["Time"] / 100.0,
            "ozone": (data["treat"] == "ozone").astype(float),
        }
    )
    return data, data["size"], exog, data["tree"], exog[["const", "Time"]]


def _array_pair(name: str) -> Pair:
    reml = ARRAY_MODELS[name]
    data, endog, exog, groups, exog_re = _sitka_arrays()
    ours = sm.MixedLM(endog, exog, groups, exog_re).fit(reml=reml)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = smapi.MixedLM(endog, exog, groups, exog_re)
        theirs = model.fit(reml=reml)
        at_ours = _restart(model, ours, reml)
    return Pair(ours, theirs, at_ours, data)


def _restart(model, ours, reml: bool):
    """statsmodels' fit of ``model`` started at our optimum."""
    start = StatsmodelsParams.from_components(
        np.asarray(ours.fe_params),
        cov_re=np.asarray(ours.cov_re) / ours.scale,
        vcomp=np.asarray(ours.vcomp) / ours.scale,
    )
    return model.fit(reml=reml, start_params=start, method="bfgs", gtol=1e-10)


@cache
def pair(name: str) -> Pair:
    """Fit model ``name`` of :data:`NAMES` with both libraries."""
    if name in ARRAY_MODELS:
        return _array_pair(name)
    formula, re_formula, vc_formula, groups, reml = MODELS[name]
    data = _data()
    kwargs = {"re_formula": re_formula, "vc_formula": vc_formula, "groups": data[groups]}
    ours = sm.MixedLM.from_formula(formula, data, **kwargs).fit(reml=reml)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = smapi.MixedLM.from_formula(formula, data, **kwargs)
        theirs = model.fit(reml=reml)
        at_ours = _restart(model, ours, reml)
    return Pair(ours, theirs, at_ours, data)


def assert_cov_close(ours, theirs, tol: float = 1e-5) -> None:
    """Covariance matrices agree on the correlation scale: every entry to ``tol`` times
    ``sqrt(theirs_ii theirs_jj)`` (an off-diagonal entry near zero is compared with the size
    of its row and column, not with itself), and the diagonals to ``tol`` relative."""
    a, b = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    diag = np.diag(b)
    np.testing.assert_allclose(np.diag(a), diag, rtol=tol, atol=1e-12)
    size = np.sqrt(np.outer(diag, diag))
    assert (np.abs(a - b) <= tol * size + 1e-12).all(), np.abs(a - b) / np.where(size, size, 1)
