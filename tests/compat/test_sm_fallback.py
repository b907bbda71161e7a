"""The facade modules fall through to statsmodels for names they do not define."""

import sys

import numpy as np
import pytest

import mixedmodels.compat.statsmodels as sm
import mixedmodels.compat.statsmodels.formula.api as smf
from mixedmodels.compat import _sm_model

statsmodels_api = pytest.importorskip("statsmodels.api")
statsmodels_formula_api = pytest.importorskip("statsmodels.formula.api")


def test_own_names_are_ours():
    assert sm.MixedLM is _sm_model.MixedLM
    assert sm.mixedlm is _sm_model.mixedlm
    assert smf.mixedlm is _sm_model.mixedlm


@pytest.mark.parametrize("name", ["OLS", "GLM", "add_constant", "datasets", "families", "WLS"])
def test_other_names_are_statsmodels_api(name):
    assert getattr(sm, name) is getattr(statsmodels_api, name)
    assert name in dir(sm)


def test_a_notebook_using_ols_and_glm_runs():
    rng = np.random.default_rng(1)
    x = rng.normal(size=40)
    y = 1 + 2 * x + rng.normal(size=40)
    fit = sm.OLS(y, sm.add_constant(x)).fit()
    ref = statsmodels_api.OLS(y, statsmodels_api.add_constant(x)).fit()
    np.testing.assert_allclose(fit.params, ref.params)
    glm = sm.GLM(y, sm.add_constant(x), family=sm.families.Gaussian()).fit()
    np.testing.assert_allclose(glm.params, ref.params)


def test_formula_api_falls_through():
    assert smf.ols is statsmodels_formula_api.ols
    assert {"ols", "glm", "mixedlm"} <= set(dir(smf))


def test_unknown_name_is_attribute_error():
    with pytest.raises(AttributeError, match="no_such_name"):
        sm.no_such_name  # noqa: B018
    with pytest.raises(AttributeError, match="no_such_name"):
        smf.no_such_name  # noqa: B018
    assert not hasattr(sm, "__wrapped__")


def test_without_statsmodels_the_error_says_it_is_needed(monkeypatch):
    monkeypatch.setitem(sys.modules, "statsmodels.api", None)
    monkeypatch.setitem(sys.modules, "statsmodels.formula.api", None)
    with pytest.raises(AttributeError, match="needs statsmodels"):
        sm.OLS  # noqa: B018
    with pytest.raises(AttributeError, match="needs statsmodels"):
        smf.ols  # noqa: B018
    assert "MixedLM" in dir(sm)
    assert "OLS" not in dir(sm)
