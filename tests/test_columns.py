"""Columns looked up once: each reads as pandas' Series does, without a copy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixedmodels.columns import Column, ColumnCache, category_codes


def _frame(seed, levels="abcd"):
    rng = np.random.default_rng(seed)
    n = 60
    return pd.DataFrame(
        {
            "y": rng.normal(size=n),
            "x": rng.normal(size=n),
            "k": rng.integers(0, 5, n),
            "f": pd.Categorical(rng.choice(list(levels), n), categories=list("abcd")),
            "g": rng.choice(["u", "v", "w"], n),
            "b": rng.random(n) > 0.5,
        }
    )


def _kinds_frame() -> pd.DataFrame:
    frame = _frame(3)
    frame["s"] = pd.Series(["p", None, "q"] * 20, dtype="str")
    frame["o"] = pd.Series(["p", "q", "r"] * 20, dtype=object)
    frame["n"] = pd.array([1, None, 3] * 20, dtype="Int64")
    frame["z"] = np.where(np.arange(60) % 7 == 0, np.nan, 1.5)
    return frame


@pytest.mark.parametrize("name", ["y", "k", "b", "g", "f", "s", "o", "n", "z"])
def test_a_column_reads_as_the_series_does(name):
    frame = _kinds_frame()
    series = frame[name]
    col = ColumnCache(frame)[name]
    assert isinstance(col, Column)
    assert col.dtype == series.dtype
    assert len(col) == len(series)
    assert type(col.array) is type(series.array) or isinstance(col.array, np.ndarray)
    assert pd.Series(col.to_numpy()).equals(pd.Series(series.to_numpy()))  # NaN equal NaN
    np.testing.assert_array_equal(pd.isna(col.array), series.isna().to_numpy())
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        np.testing.assert_array_equal(
            col.to_numpy(dtype=float, na_value=np.nan),
            series.to_numpy(dtype=float, na_value=np.nan),
        )
        np.testing.assert_array_equal(col.to_numpy(dtype=float), series.to_numpy(dtype=float))
    assert col.name == name  # anything else is the Series'
    assert ColumnCache(frame)[name] is not col  # per view, once
    view = ColumnCache(frame)
    assert view[name] is view[name]


def test_a_column_view_is_read_only_and_no_copy():
    frame = _kinds_frame()
    values = ColumnCache(frame)["y"].to_numpy()
    assert not values.flags.writeable
    assert np.shares_memory(values, frame["y"].to_numpy())
    with pytest.raises(ValueError, match="read-only"):
        values[0] = 1.0


def test_a_categorical_column_is_a_column_over_its_categorical():
    frame = _kinds_frame()
    got = ColumnCache(frame)["f"]
    assert isinstance(got, Column)
    assert got.dtype == frame["f"].dtype
    np.testing.assert_array_equal(category_codes(got), frame["f"].cat.codes.to_numpy())
    np.testing.assert_array_equal(category_codes(frame["f"]), frame["f"].cat.codes.to_numpy())
    assert list(got.cat.categories) == list(frame["f"].cat.categories)  # the Series' accessor


def test_a_duplicated_column_name_gives_the_frame_pandas_gives():
    frame = _kinds_frame()
    doubled = pd.concat([frame[["x"]], frame[["x"]]], axis=1)
    got = ColumnCache(doubled)["x"]
    assert not isinstance(got, Column)
    pd.testing.assert_frame_equal(got, doubled["x"])
