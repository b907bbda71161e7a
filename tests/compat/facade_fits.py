"""Fits shared by the statsmodels-facade test modules (fitted once per process).

A helper module rather than a conftest.py: tests/test_reference.py imports ``conftest`` by
name, and a second conftest.py would shadow it.
"""

from __future__ import annotations

import warnings
from functools import cache

import numpy as np

import mixedmodels.compat.statsmodels as sm
from mixedmodels import datasets
from mixedmodels.compat.statsmodels import MixedLMParams


@cache
def notebook_fits() -> dict:
    """The five fits of statsmodels' MixedLM notebook (old-statsmodels spelling)."""
    out = {}
    data = datasets.load("dietox")
    out["dietox_ri"] = sm.MixedLM.from_formula("Weight ~ Time", data, groups=data["Pig"]).fit()
    model = sm.MixedLM.from_formula("Weight ~ Time", data, re_formula="Time", groups=data["Pig"])
    out["dietox_rs"] = model.fit()
    free = MixedLMParams(2, 2)
    free.set_fe_params(np.ones(2))
    free.set_cov_re(np.eye(2))
    out["dietox_indep"] = model.fit(free=free)
    data = datasets.load("sitka")
    data["Intercept"] = 1
    exog = data[["Intercept", "Time"]]
    out["sitka_ri"] = sm.MixedLM(data["size"], exog, data["tree"], exog.iloc[:, 0]).fit()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out["sitka_rs"] = sm.MixedLM(data["size"], exog, data["tree"], np.asarray(exog)).fit()
    out["sitka_rs_warnings"] = [str(w.message) for w in caught]
    return out
