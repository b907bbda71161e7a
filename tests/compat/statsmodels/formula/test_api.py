"""``mixedmodels.compat.statsmodels.formula.api`` as ``smf``: our mixedlm, statsmodels' rest."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import mixedmodels as mm
import mixedmodels.compat.statsmodels as sm
import mixedmodels.compat.statsmodels.formula.api as smf

statsmodels_formula = pytest.importorskip("statsmodels.formula.api")


def test_mixedlm_is_the_facades_and_fits_lme4s_optimum():
    data = mm.datasets.load("dietox")
    assert smf.mixedlm is sm.mixedlm
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = smf.mixedlm("Weight ~ Time", data, groups=data["Pig"]).fit()
        lme4 = mm.lmer("Weight ~ Time + (1 | Pig)", data)
    np.testing.assert_allclose(result.fe_params.to_numpy(), lme4.fixef.to_numpy(), rtol=1e-6)
    assert result.llf == pytest.approx(lme4.loglik, rel=1e-9)


def test_every_other_name_is_statsmodels_formula_apis():
    assert smf.ols is statsmodels_formula.ols
    assert smf.glm is statsmodels_formula.glm
    assert "mixedlm" in dir(smf)
    assert "ols" in dir(smf)
    with pytest.raises(AttributeError):
        _ = smf.no_such_function
