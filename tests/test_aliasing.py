"""Aliased fixed-effect columns and exact fits (mixedmodels.aliasing)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels import aliasing
from mixedmodels.aliasing import drop_aliased, fixed_effects_fit_exactly


def columns(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return np.column_stack([np.ones(n), rng.normal(size=n), rng.normal(size=n)])


def test_full_rank_columns_are_all_kept():
    X = columns()
    assert drop_aliased(X, ("a", "b", "c")).tolist() == [0, 1, 2]


def test_a_column_spanned_by_earlier_ones_is_dropped():
    X = columns()
    X = np.column_stack([X, X[:, 1] - 2.0 * X[:, 2], np.zeros(X.shape[0])])
    assert drop_aliased(X, ("a", "b", "c", "b-2c", "zero")).tolist() == [0, 1, 2]


def test_the_earlier_of_two_equal_columns_is_kept():
    X = columns()
    X = np.column_stack([X[:, 0], X[:, 2], X[:, 1], X[:, 2] * 3.0])
    assert drop_aliased(X, ("a", "c", "b", "3c")).tolist() == [0, 1, 2]


def test_a_column_off_the_span_by_less_than_the_tolerance_is_aliased():
    X = columns()
    near = X[:, 1] + 1e-9 * X[:, 2]
    assert drop_aliased(np.column_stack([X[:, :2], near]), ("a", "b", "n")).tolist() == [0, 1]
    far = X[:, 1] + 1e-3 * X[:, 2]
    assert drop_aliased(np.column_stack([X[:, :2], far]), ("a", "b", "f")).tolist() == [0, 1, 2]


def test_large_designs_give_the_same_answer_through_the_quick_check(monkeypatch):
    rng = np.random.default_rng(2)
    X = np.column_stack([np.ones(30_000), rng.normal(size=(30_000, 2))])
    assert X.size >= aliasing.SMALL_X
    assert drop_aliased(X, ("a", "b", "c")).tolist() == [0, 1, 2]
    aliased = np.column_stack([X, X[:, 1] + X[:, 2]])
    assert drop_aliased(aliased, ("a", "b", "c", "d")).tolist() == [0, 1, 2]


def data(y):
    g = np.repeat(np.arange(6), 5)
    x = np.tile(np.arange(5.0), 6)
    return pd.DataFrame({"y": y(x, g), "x": x, "g": g})


def test_a_response_on_the_fixed_effects_fits_exactly():
    frame = data(lambda x, g: 1.0 + 2.0 * x)
    design = mm.LinearMixedModel("y ~ x + (1 | g)", frame).design
    assert fixed_effects_fit_exactly(design)


@pytest.mark.parametrize("weighted", [False, True])
def test_a_response_with_noise_does_not(weighted):
    rng = np.random.default_rng(1)
    frame = data(lambda x, g: 1.0 + 2.0 * x + rng.normal(size=x.size)).assign(w=2.0)
    design = mm.LinearMixedModel("y ~ x + (1 | g)", frame, weights="w" if weighted else None).design
    assert not fixed_effects_fit_exactly(design)
