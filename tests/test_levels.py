"""Integer codes and level labels of grouping factors in lme4's order (mixedmodels.levels)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixedmodels.levels import group_codes, sort_levels


def decoded(codes, labels):
    return [labels[c] for c in codes]


@pytest.mark.parametrize(
    "values",
    [
        pd.Series([3, 1, 2, 1, 3]),
        pd.Series(["c", "a", "b", "a", "c"]),
        pd.Series(["c", "a", "b", "a", "c"], dtype="string"),
        pd.Series([2.5, 0.5, 1.5, 0.5, 2.5]),
    ],
)
def test_levels_are_sorted_and_codes_decode_to_the_values(values):
    codes, labels = sort_levels(values)
    assert labels == sorted(labels, key=lambda s: float(s) if values.dtype.kind in "if" else s)
    assert decoded(codes, labels) == [str(v) for v in values]
    assert codes.dtype == np.intp


def test_integers_sort_numerically_not_as_text():
    codes, labels = sort_levels(pd.Series([10, 9, 100]))
    assert labels == ["9", "10", "100"]
    assert codes.tolist() == [1, 0, 2]


def test_categorical_levels_keep_their_order_and_drop_unused_ones():
    values = pd.Series(pd.Categorical(["lo", "hi", "lo"], categories=["unused", "lo", "hi"]))
    codes, labels = sort_levels(values)
    assert labels == ["lo", "hi"]  # the categories' order, not the alphabet's
    assert codes.tolist() == [0, 1, 0]


def test_strings_with_missing_labels_follow_pandas_sorted_factorisation():
    values = pd.Series(["b", None, "a", "b"], dtype=object)
    codes, labels = sort_levels(values)
    expected_codes, expected = pd.factorize(values, sort=True)
    assert labels == [str(u) for u in expected]
    assert codes.tolist() == expected_codes.tolist()


def test_an_interaction_has_the_used_cells_as_levels():
    frame = pd.DataFrame({"a": ["x", "y", "x", "y"], "b": [2, 1, 2, 2]})
    codes, labels = group_codes(frame, ("a", "b"))
    assert labels == ["x:2", "y:1", "y:2"]  # x:1 never occurs
    assert decoded(codes, labels) == ["x:2", "y:1", "x:2", "y:2"]


def test_one_factor_is_its_own_levels():
    frame = pd.DataFrame({"g": ["b", "a", "b"]})
    codes, labels = group_codes(frame, ("g",))
    assert labels == ["a", "b"]
    assert codes.tolist() == [1, 0, 1]
