"""The facade's missing-value errors are of the class statsmodels 0.15 raises, and name rows.

One NaN at a time in the response, a fixed covariate, ``groups``, a ``re_formula`` variable
and a ``vc_formula`` variable: with ``missing="none"`` or ``"raise"`` statsmodels raises
patsy's ``PatsyError`` (formula variables), its ``MissingDataError`` (groups) or a
``ValueError`` of mismatched shapes (re and vc variables); the facade's error must be an
instance of that same class, so that ``except`` clauses written for statsmodels catch it.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mixedmodels.compat.statsmodels as sm
from mixedmodels.compat._sm_missing import MissingValuesError, formula_data_error

smapi = pytest.importorskip("statsmodels.api")
from statsmodels.tools.sm_exceptions import (  # noqa: E402
    MissingDataError as StatsmodelsMissingDataError,
)

FORMULA = "y ~ x"
SPEC = {"groups": "g", "re_formula": "~z", "vc_formula": {"c": "0 + C(c)"}}
HOLES = {"response": ("y", 3), "fixed": ("x", 10), "groups": ("g", 17), "re": ("z", 30)}
HOLES["vc"] = ("c", 45)


def simulated() -> pd.DataFrame:
    """24 groups of 8 rows, two classes per group (the variance component)."""
    rng = np.random.default_rng(3)
    n_groups, per = 24, 8
    g = np.repeat(np.arange(n_groups), per)
    c = np.tile(np.repeat([0, 1], per // 2), n_groups)
    x, z = rng.normal(size=g.size), rng.normal(size=g.size)
    u0, u1 = rng.normal(size=n_groups), rng.normal(scale=0.6, size=n_groups)
    v = rng.normal(scale=0.7, size=(n_groups, 2))
    y = 2 + 0.5 * x + u0[g] + u1[g] * z + v[g, c] + rng.normal(scale=0.5, size=g.size)
    frame = pd.DataFrame({"y": y, "x": x, "z": z, "c": c.astype(float), "g": g.astype(float)})
    frame.index = pd.Index([f"r{i}" for i in range(g.size)])
    return frame


DATA = simulated()


def with_hole(where: str) -> pd.DataFrame:
    column, row = HOLES[where]
    data = DATA.copy()
    data.loc[data.index[row], column] = np.nan
    return data


def statsmodels_error(call) -> Exception:
    """The exception statsmodels raises (of several classes: the tests check which)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call()
    except Exception as exc:  # noqa: BLE001 - the class is the point of the test
        return exc
    pytest.fail("statsmodels raised nothing")


@pytest.mark.parametrize("missing", ["none", "raise"])
@pytest.mark.parametrize("where", list(HOLES))
def test_formula_errors_are_of_statsmodels_class(where, missing):
    data = with_hole(where)
    theirs = statsmodels_error(
        lambda: smapi.MixedLM.from_formula(FORMULA, data, missing=missing, **SPEC)
    )
    with pytest.raises(MissingValuesError) as caught:
        sm.MixedLM.from_formula(FORMULA, data, missing=missing, **SPEC)
    ours = caught.value
    assert isinstance(ours, type(theirs)), (type(theirs), type(ours).__mro__)
    assert isinstance(ours, StatsmodelsMissingDataError)
    assert isinstance(ours, ValueError)
    column, row = HOLES[where]
    assert f"{column} (1 row) [row {DATA.index[row]!r}]" in str(ours)


def test_only_formula_variables_raise_patsy_errors():
    patsy = pytest.importorskip("patsy")
    for where, expected in (("fixed", True), ("response", True), ("groups", False)):
        with pytest.raises(MissingValuesError) as caught:
            sm.MixedLM.from_formula(FORMULA, with_hole(where), **SPEC)
        assert isinstance(caught.value, patsy.PatsyError) is expected
    error = formula_data_error()("a message")
    assert str(error) == error.message == "a message"
    assert error.origin is None


def test_array_errors_name_the_first_rows():
    data = DATA.copy()
    data.loc[data.index[:7], "x"] = np.nan
    exog = pd.DataFrame({"Intercept": 1.0, "x": data["x"]}, index=data.index)
    with pytest.raises(StatsmodelsMissingDataError) as caught:
        sm.MixedLM(data["y"], exog, data["g"], missing="raise")
    message = str(caught.value)
    assert "NaNs were encountered in the data: exog (7 rows)" in message
    assert "[rows 'r0', 'r1', 'r2', 'r3', 'r4', ... (7 rows)]" in message
    endog = np.where(np.arange(len(data)) == 2, np.nan, data["y"])
    with pytest.raises(StatsmodelsMissingDataError, match=r"endog \(1 row\) \[row 'r2'\]"):
        sm.MixedLM(endog, exog.fillna(0), data["g"])  # exog's labels
    with pytest.raises(StatsmodelsMissingDataError, match=r"endog \(1 row\) \[row 2\]"):
        sm.MixedLM(endog, exog.fillna(0).to_numpy(), data["g"].to_numpy())  # positions
    data.loc["r9", "y"] = np.inf
    with pytest.raises(
        MissingValuesError, match=r"infinite values in endog \(1 row\) \[row 'r9'\]"
    ):
        sm.MixedLM(data["y"], exog.fillna(0), data["g"])
