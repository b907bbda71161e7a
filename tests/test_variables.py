"""The variables a formula reads and the checks of their columns (mixedmodels.variables)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixedmodels.columns import ColumnCache
from mixedmodels.errors import DesignError, FormulaError, MissingColumnError
from mixedmodels.variables import (
    check_columns,
    check_numeric,
    check_response_varies,
    column_dtype,
    dated_columns_hint,
    is_numeric_column,
    missing_rows,
    needed_variables,
    parse_cached,
    without_functions,
)


def test_needed_variables_say_where_each_is_read():
    parsed = parse_cached("log(y) ~ x * z + offset(o) + (1 + w | g:h)")
    assert needed_variables(parsed) == {
        "y": "the response",
        "x": "the fixed part",
        "z": "the fixed part",
        "o": "offset(o)",
        "w": "term (1 + w | g:h)",
        "g": "term (1 + w | g:h)",
        "h": "term (1 + w | g:h)",
    }


def test_parse_cached_parses_once():
    assert parse_cached("y ~ x + (1 | g)") is parse_cached("y ~ x + (1 | g)")


def test_needed_variables_are_a_copy():
    parsed = parse_cached("y ~ x + (1 | g)")
    needed_variables(parsed).clear()
    assert set(needed_variables(parsed)) == {"y", "x", "g"}


def test_function_names_that_are_not_columns_are_left_out():
    needed = {"y": "the response", "log": "the fixed part", "x": "the fixed part"}
    assert without_functions(needed, ["y", "x"]) == {"y": "the response", "x": "the fixed part"}
    assert without_functions(needed, ["y", "x", "log"]) == needed  # a column named log


def test_a_missing_column_is_named_with_where_it_is_read():
    data = pd.DataFrame({"y": [1.0], "x": [2.0]})
    with pytest.raises(MissingColumnError, match=r"'g' \(in term \(1 \| g\)\)"):
        check_columns(data, {"y": "the response", "g": "term (1 | g)"}, "y ~ 1 + (1 | g)")
    check_columns(data, {"y": "the response", "x": "the fixed part"}, "y ~ x")


def test_an_unknown_function_is_a_formula_error():
    data = pd.DataFrame({"y": [1.0], "x": [2.0]})
    with pytest.raises(FormulaError, match="unknown function 'frob'"):
        check_columns(data, {"y": "the response", "frob": "the fixed part"}, "y ~ frob(x)")


def test_dated_columns_are_named_in_the_hint():
    frame = pd.DataFrame(
        {"t": pd.to_datetime(["2020-01-01", "2020-01-02"]), "tx": [1.0, 2.0], "x": [1.0, 2.0]}
    )
    hint = dated_columns_hint("y ~ t + x", frame)
    assert "'t'" in hint
    assert "dates or times" in hint
    assert dated_columns_hint("y ~ tx + x", frame) == ""


def test_numeric_columns():
    frame = pd.DataFrame(
        {"x": [1.0, 2.0], "i": [1, 2], "b": [True, False], "f": pd.Categorical(["a", "b"])}
    )
    assert [is_numeric_column(frame, c) for c in ("x", "i", "b", "f", "nope")] == [
        True,
        True,
        False,
        False,
        False,
    ]
    assert column_dtype(frame, "x") == np.float64
    assert isinstance(column_dtype(frame, "f"), pd.CategoricalDtype)


def test_check_numeric_names_the_column_and_its_role():
    frame = pd.DataFrame({"w": ["a", "b"], "v": [1.0, 2.0], "b": [True, False]})
    with pytest.raises(DesignError, match="the weights 'w' must be numeric, it has dtype"):
        check_numeric(frame, "w", "weights")
    check_numeric(frame, "v", "weights")
    check_numeric(ColumnCache(frame), "b", "offset")


def test_a_constant_response_is_refused():
    with pytest.raises(DesignError, match="the response 'y' is constant"):
        check_response_varies(np.full(4, 2.0), None, "y")
    with pytest.raises(DesignError, match="less the offset"):
        check_response_varies(np.arange(4.0), np.arange(4.0), "y")
    check_response_varies(np.arange(4.0), None, "y")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (pd.Series([1, 2, 3]), None),  # integers cannot be missing
        (pd.Series([1.0, np.nan, 3.0]), [False, True, False]),
        (pd.Series(["a", None, "c"]), [False, True, False]),
        (pd.Series([1, None, 3], dtype="Int64"), [False, True, False]),
        (pd.Series([1.0, 2.0]), None),
    ],
)
def test_missing_rows(values, expected):
    found = missing_rows(values, "x", "the fixed part")
    assert (found if found is None else found.tolist()) == expected


def test_unusable_columns_are_refused():
    with pytest.raises(DesignError, match=r"column 'x' \(the fixed part\) has only missing"):
        missing_rows(pd.Series([np.nan, np.nan]), "x", "the fixed part")
    with pytest.raises(DesignError, match="infinite values"):
        missing_rows(pd.Series([1.0, np.inf]), "x", "the fixed part")
