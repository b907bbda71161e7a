"""The facade fits what statsmodels fits: as many random effects as observations.

50 groups of two rows with a random intercept and slope (100 random effects for 100 rows) plus
two variance components. lme4 refuses that model (``check.nobs.vs.nRE``, our DesignError by
default for ``lmer``); statsmodels fits it, and so does the facade, at least as well.
"""

from __future__ import annotations

import warnings
from functools import cache

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
import mixedmodels.compat.statsmodels as sm
from mixedmodels.errors import DesignError

smapi = pytest.importorskip("statsmodels.api")

VC = {"a": "0 + a", "b": "0 + b"}


@cache
def _data() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    groups = np.repeat(np.arange(50), 2)
    x, a, b = rng.normal(size=(3, 100))
    u = rng.normal(size=(50, 4)) * [1.0, 0.7, 0.8, 0.8]
    y = 1 + 0.5 * x + u[groups, 0] + u[groups, 1] * x + u[groups, 2] * a + u[groups, 3] * b
    y = y + 0.5 * rng.normal(size=100)
    return pd.DataFrame({"y": y, "x": x, "a": a, "b": b, "g": groups})


def _fit(api, reml: bool):
    data = _data()
    model = api.MixedLM.from_formula("y ~ x", data, re_formula="1 + x", vc_formula=VC, groups="g")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(reml=reml)


@pytest.mark.parametrize("reml", [True, False], ids=["reml", "ml"])
def test_fits_as_many_random_effects_as_rows_as_statsmodels(reml):
    ours, theirs = _fit(sm, reml), _fit(smapi, reml)
    assert ours.nobs == theirs.nobs == 100
    assert ours.model.n_groups == 50
    assert ours.llf >= theirs.llf - 1e-8
    assert ours.llf == pytest.approx(theirs.llf, abs=1e-6)
    assert list(ours.params.index) == list(theirs.params.index)
    # a flat likelihood (groups of two rows): the estimates agree to statsmodels' tolerance
    np.testing.assert_allclose(ours.fe_params, theirs.fe_params, atol=1e-4)
    np.testing.assert_allclose(np.asarray(ours.cov_re), np.asarray(theirs.cov_re), atol=1e-3)
    np.testing.assert_allclose(ours.vcomp, theirs.vcomp, atol=1e-3)
    assert ours.scale == pytest.approx(theirs.scale, abs=1e-3)
    assert np.all(ours.vcomp > 0.1)  # an interior optimum
    assert ours.scale > 0.1


def test_lmer_refuses_the_same_model_unless_told():
    data = _data()
    formula = "y ~ x + (x | g) + (0 + a | g) + (0 + b | g)"
    with pytest.raises(DesignError, match="number of random effects for grouping factor 'g'"):
        mm.lmer(formula, data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = mm.lmer(formula, data, control={"check_nobs_vs_nre": "ignore"})
    assert fit.objective == pytest.approx(-2 * _fit(sm, True).llf, abs=1e-6)  # the same model


def test_one_row_per_group_fits_as_statsmodels_fits_it():
    """statsmodels fits a random intercept on groups of one row (lmer refuses it by default,
    lme4's check.nobs.vs.nlev): the same log-likelihood, on a ridge where only the sum of the
    group and residual variances is identified."""
    rng = np.random.default_rng(5)
    data = pd.DataFrame({"g": np.arange(60), "x": rng.normal(size=60)})
    data["y"] = data["x"] + rng.normal(size=60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = smapi.MixedLM.from_formula("y ~ x", data, groups="g").fit()
        ours = sm.MixedLM.from_formula("y ~ x", data, groups="g").fit()
    assert ours.llf >= theirs.llf - 1e-8
    assert ours.llf == pytest.approx(theirs.llf, abs=1e-6)
    total = float(ours.cov_re.iloc[0, 0]) + ours.scale
    assert total == pytest.approx(float(theirs.cov_re.iloc[0, 0]) + theirs.scale, rel=1e-6)
    with pytest.raises(DesignError, match="levels of grouping factor"):
        mm.lmer("y ~ x + (1 | g)", data, control={"check_nobs_vs_nre": "ignore"})
