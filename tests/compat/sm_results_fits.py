"""Fits shared by the test_sm_results_* modules: each model fitted by the facade and by
statsmodels 0.15, and statsmodels restarted at the facade's optimum (fitted once per process).

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


@cache
def pair(name: str) -> Pair:
    """Fit model ``name`` of :data:`MODELS` with both libraries."""
    formula, re_formula, vc_formula, groups, reml = MODELS[name]
    data = _data()
    kwargs = {"re_formula": re_formula, "vc_formula": vc_formula, "groups": data[groups]}
    ours = sm.MixedLM.from_formula(formula, data, **kwargs).fit(reml=reml)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = smapi.MixedLM.from_formula(formula, data, **kwargs)
        theirs = model.fit(reml=reml)
        start = StatsmodelsParams.from_components(
            np.asarray(ours.fe_params),
            cov_re=np.asarray(ours.cov_re) / ours.scale,
            vcomp=np.asarray(ours.vcomp) / ours.scale,
        )
        at_ours = model.fit(reml=reml, start_params=start, method="bfgs", gtol=1e-10)
    return Pair(ours, theirs, at_ours, data)
