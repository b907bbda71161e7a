"""Names MixedLMResults inherits from statsmodels' base results, against statsmodels 0.15.

``wald_test_terms`` and ``k_constant`` give values there (compared with statsmodels
restarted at our optimum); ``t_test_pairwise`` raises ValueError and ``bsejac``,
``covjac``, ``score_obsv`` raise AttributeError (MixedLM has no per-observation score):
ours raise the same classes.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sm_results_fits import NAMES, pair, smapi

import mixedmodels.compat.statsmodels as sm
from mixedmodels import datasets
from mixedmodels.compat._sm_tests import TermTests, fe_terms


def _cells(column) -> np.ndarray:
    """A column of numbers or of 1 x 1 arrays (``scalar=False``) as floats."""
    return np.array([float(np.squeeze(x)) for x in column])


def _tables_close(ours, theirs) -> None:
    a, b = ours.table, theirs.table
    assert list(a.index) == list(b.index)
    assert list(a.columns) == list(b.columns)
    np.testing.assert_allclose(_cells(a["statistic"]), _cells(b["statistic"]), rtol=1e-5)
    np.testing.assert_allclose(_cells(a["pvalue"]), _cells(b["pvalue"]), rtol=1e-4, atol=1e-300)
    np.testing.assert_array_equal(a["df_constraint"], b["df_constraint"])


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    "kwargs", [{}, {"skip_single": True}, {"combine_terms": ["Time"]}, {"scalar": False}]
)
def test_wald_test_terms_as_statsmodels(name, kwargs):
    p = pair(name)
    ours, theirs = p.ours.wald_test_terms(**kwargs), p.at_ours.wald_test_terms(**kwargs)
    assert type(ours) is type(theirs)
    if len(theirs.table):
        _tables_close(ours, theirs)
    else:
        assert not len(ours.table)
    assert str(ours.summary_frame().columns.tolist()) == str(
        theirs.summary_frame().columns.tolist()
    )


def test_wald_test_terms_extra_constraints():
    p = pair("categorical")
    k = len(p.ours.params)
    extra = [("Time and Cu", np.eye(k)[[3, 4, 5]])]
    _tables_close(
        p.ours.wald_test_terms(extra_constraints=extra),
        p.at_ours.wald_test_terms(extra_constraints=extra),
    )


@pytest.mark.parametrize("name", NAMES)
def test_k_constant_as_statsmodels(name):
    p = pair(name)
    assert p.ours.k_constant == p.theirs.k_constant
    assert p.ours.model.k_constant == p.theirs.model.k_constant
    assert p.ours.model.data.k_constant == p.theirs.model.data.k_constant
    assert p.ours.model.data.const_idx == p.theirs.model.data.const_idx


@pytest.mark.parametrize(
    "formula", ["Weight ~ 0 + Time", "Weight ~ 0 + C(Evit) + Time", "Weight ~ Time"]
)
def test_k_constant_explicit_implicit_and_none(formula):
    data = datasets.load("dietox")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = smapi.MixedLM.from_formula(formula, data, groups=data["Pig"])
    ours = sm.MixedLM.from_formula(formula, data, groups=data["Pig"])
    assert ours.k_constant == theirs.k_constant
    assert ours.data.const_idx == theirs.data.const_idx
    exog = np.column_stack([data["Time"].to_numpy(dtype=float), np.full(len(data), 2.0)])
    arrays = sm.MixedLM(data["Weight"].to_numpy(), exog, data["Pig"].to_numpy())
    theirs_arrays = smapi.MixedLM(data["Weight"].to_numpy(), exog, data["Pig"].to_numpy())
    assert (arrays.k_constant, arrays.data.const_idx) == (1, 1)
    assert (theirs_arrays.k_constant, theirs_arrays.data.const_idx) == (1, 1)


@pytest.mark.parametrize("attribute", ["bsejac", "covjac", "score_obsv"])
def test_per_observation_scores_raise_as_statsmodels(attribute):
    p = pair("slope_reml")
    with pytest.raises(AttributeError, match="score_obs"):
        getattr(p.theirs, attribute)
    with pytest.raises(AttributeError, match="score_obs"):
        getattr(p.ours, attribute)
    assert not hasattr(p.ours, attribute)


@pytest.mark.parametrize(("name", "term"), [("categorical", "C(Evit)"), ("slope_reml", "x")])
def test_t_test_pairwise_raises_value_error_as_statsmodels(name, term):
    p = pair(name)
    with pytest.raises(ValueError, match="columns|not in list"):
        p.theirs.t_test_pairwise(term)
    with pytest.raises(ValueError, match="columns|not in list"):
        p.ours.t_test_pairwise(term)


def test_terms_from_column_names():
    names = ["Intercept", "C(Evit)[T.Evit100]", "C(Evit)[T.Evit200]", "Time", "Time:C(Evit)[T.b]"]
    assert fe_terms(names, formula=True) == [
        ("Intercept", [0]),
        ("C(Evit)", [1, 2]),
        ("Time", [3]),
        ("Time:C(Evit)", [4]),
    ]
    assert fe_terms(["const", "x1"], formula=False) == [("const", [0]), ("x1", [1])]


def test_term_tests_without_statsmodels():
    table = pd.DataFrame(
        [[4.0, 0.05, 1]], index=["Time"], columns=["statistic", "pvalue", "df_constraint"]
    )
    result = TermTests(table)
    assert result.statistic.tolist() == [4.0]
    assert result.df_constraints.tolist() == [1]
    assert "P>chi2" in str(result)
