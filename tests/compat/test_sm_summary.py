"""``statsmodels.iolib.summary2.summary_col`` on facade results gives statsmodels' table.

summary_col reads ``params``, ``bse``, ``tvalues``, ``pvalues``, ``conf_int(alpha)``,
``model.endog_names`` and ``model.data.param_names``. ``model.data`` is the model side of
issue 17 (branch facade-model); until it is merged the test gives the model a stand-in
holding ``param_names``, so what is checked here is the results side.
"""

from __future__ import annotations

import types

import numpy as np
import pytest
from sm_results_fits import pair

summary2 = pytest.importorskip("statsmodels.iolib.summary2")


def _with_data(monkeypatch, result):
    if not hasattr(result.model, "data"):
        stand_in = types.SimpleNamespace(param_names=list(result.model.param_names))
        monkeypatch.setattr(result.model, "data", stand_in, raising=False)
    return result


@pytest.mark.parametrize(
    "names", [["slope_reml"], ["categorical"], ["vc"], ["slope_reml", "categorical", "vc"]]
)
@pytest.mark.parametrize("stars", [False, True])
def test_summary_col_is_statsmodels_table(monkeypatch, names, stars):
    ours = [_with_data(monkeypatch, pair(n).ours) for n in names]
    theirs = [pair(n).at_ours for n in names]
    info = {"N": lambda r: str(int(r.nobs)), "Log-lik.": lambda r: f"{r.llf:.2f}"}
    a = summary2.summary_col(ours, stars=stars, info_dict=info)
    b = summary2.summary_col(theirs, stars=stars, info_dict=info)
    assert a.as_text() == b.as_text()
    assert list(a.tables[0].index) == list(b.tables[0].index)


def test_summary_col_regressor_order_and_names(monkeypatch):
    ours = [_with_data(monkeypatch, pair(n).ours) for n in ("slope_ml", "categorical_ml")]
    theirs = [pair(n).at_ours for n in ("slope_ml", "categorical_ml")]
    kwargs = {"model_names": ["slope", "cat"], "regressor_order": ["Time", "Intercept"]}
    a = summary2.summary_col(ours, **kwargs)
    b = summary2.summary_col(theirs, **kwargs)
    assert a.as_text() == b.as_text()
    assert a.as_latex() == b.as_latex()


def test_summary_col_reads_our_own_values(monkeypatch):
    result = _with_data(monkeypatch, pair("categorical").ours)
    table = summary2.summary_col([result], float_format="%.6f").tables[0]
    column = table.iloc[:, 0]
    assert column.iloc[0] == f"{result.params.iloc[0]:.6f}"
    assert column.iloc[1] == f"({result.bse.iloc[0]:.6f})"
    assert np.isfinite(result.pvalues).all()


@pytest.mark.parametrize("name", ["slope_reml", "categorical", "vc", "slope_ml"])
def test_summary_is_statsmodels_summary(name):
    p = pair(name)
    ours, theirs = p.ours.summary(alpha=0.1), p.at_ours.summary(alpha=0.1)
    assert type(ours) is type(theirs)
    info_a, info_b = ours.tables[0].to_numpy(), theirs.tables[0].to_numpy()
    converged = info_b == "Converged:"
    same = ~np.roll(converged, 1, axis=1)  # statsmodels restarted says "No" (a 0-step run)
    assert (info_a[same] == info_b[same]).all()
    a, b = ours.tables[1], theirs.tables[1]
    assert list(a.index) == list(b.index)
    assert list(a.columns) == list(b.columns)
    k_fe = p.ours.k_fe
    assert (a.iloc[:k_fe] == b.iloc[:k_fe]).all().all()
    # variance rows: same estimates; the Std.Err. column is ours on purpose (docs)
    assert (a.iloc[k_fe:, 0] == b.iloc[k_fe:, 0]).all()
    assert (a.iloc[k_fe:, 2:] == b.iloc[k_fe:, 2:]).all().all()
    assert ours.as_latex().count("\\\\") == theirs.as_latex().count("\\\\")


def test_summary_without_statsmodels(monkeypatch):
    import sys

    from mixedmodels.compat._sm_summary import MixedLMSummary

    monkeypatch.setitem(sys.modules, "statsmodels.iolib", None)
    p = pair("categorical")
    ours = p.ours.summary()
    assert isinstance(ours, MixedLMSummary)
    lines = str(ours).splitlines()
    assert lines[0].strip() == "Mixed Linear Model Regression Results"
    assert any(line.startswith("Cu[T.Cu175]") for line in lines)
