"""``remove_data``, ``save`` and ``load`` as statsmodels has them."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
from sm_results_fits import pair

import mixedmodels.compat.statsmodels as sm
from mixedmodels import datasets
from mixedmodels.compat._sm_results import MixedLMResults


def _fresh(name: str):
    """A new fit (remove_data changes the result and its model in place)."""
    p = pair(name)
    formula = {"categorical": "Weight ~ Time * C(Evit) + Cu", "vc": "Weight ~ Time"}[name]
    kwargs = (
        {"groups": p.data["Pig"]}
        if name == "categorical"
        else {"groups": p.data["Litter"], "re_formula": "1", "vc_formula": {"Pig": "0 + C(Pig)"}}
    )
    return sm.MixedLM.from_formula(formula, p.data, **kwargs).fit(), p.ours


@pytest.mark.parametrize("name", ["categorical", "vc"])
def test_remove_data_keeps_the_estimates_and_the_summary(name):
    result, reference = _fresh(name)
    text = str(result.summary())
    result.remove_data()
    assert result.data_removed
    assert result.model.endog is None
    assert result.model.exog is None
    assert result.lmer_result is None
    assert str(result.summary()) == text
    for attr in ("params", "bse", "fe_params", "bse_fe", "bse_re", "tvalues", "pvalues"):
        np.testing.assert_array_equal(getattr(result, attr), getattr(reference, attr))
    np.testing.assert_array_equal(result.conf_int(0.1), reference.conf_int(0.1))
    np.testing.assert_array_equal(result.cov_params(), reference.cov_params())
    assert result.llf == reference.llf
    np.testing.assert_array_equal([result.aic, result.bic], [reference.aic, reference.bic])
    assert result.f_test("Time = 0").fvalue == reference.f_test("Time = 0").fvalue
    new = datasets.load("dietox").dropna().iloc[:5]
    np.testing.assert_allclose(result.predict(new), reference.predict(new), rtol=1e-12)
    with pytest.raises((AttributeError, TypeError)):
        result.fittedvalues  # noqa: B018  (needs the data, as in statsmodels)


def test_remove_data_makes_the_pickle_smaller():
    result, _ = _fresh("categorical")
    before = len(pickle.dumps(result))
    result.remove_data()
    # the arrays and the engine go; a formula model keeps its data frame, as in statsmodels
    assert len(pickle.dumps(result)) < before / 2


def test_remove_data_twice():
    result, reference = _fresh("vc")
    result.remove_data()
    result.remove_data()
    np.testing.assert_array_equal(result.bse, reference.bse)


@pytest.mark.parametrize("remove", [False, True])
def test_save_and_load(tmp_path, remove):
    result, reference = _fresh("categorical")
    path = tmp_path / "fit.pickle"
    result.save(path, remove_data=remove)
    loaded = MixedLMResults.load(path)
    assert loaded.data_removed is remove
    np.testing.assert_array_equal(loaded.params, reference.params)
    np.testing.assert_array_equal(loaded.bse, reference.bse)
    assert str(loaded.summary()) == str(reference.summary())
    if not remove:
        np.testing.assert_array_equal(loaded.fittedvalues, reference.fittedvalues)
    buffer = io.BytesIO()
    loaded.save(buffer)
    buffer.seek(0)
    again = type(loaded).load(buffer)
    np.testing.assert_array_equal(again.params, reference.params)


def test_load_refuses_another_object(tmp_path):
    path = tmp_path / "other.pickle"
    path.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(TypeError, match="MixedLMResults"):
        MixedLMResults.load(path)


def test_statsmodels_load_pickle_reads_our_file(tmp_path):
    smpickle = pytest.importorskip("statsmodels.iolib.smpickle")
    result, reference = _fresh("categorical")
    path = tmp_path / "fit.pickle"
    result.save(path)
    np.testing.assert_array_equal(smpickle.load_pickle(path).params, reference.params)
