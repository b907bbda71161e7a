"""Mirror tests of mixedmodels.glmm.separation: separating directions of a binomial outcome."""

from __future__ import annotations

import numpy as np

from mixedmodels.glmm.separation import separating_effects

_RNG = np.random.default_rng(14)


def _design(n=60):
    x = _RNG.normal(size=n)
    return np.column_stack([np.ones(n), x]), x


def test_overlapping_outcomes_have_no_separation():
    X, x = _design()
    y = (x + _RNG.normal(size=x.size) > 0).astype(float)
    assert separating_effects(X, y, np.ones(x.size)).size == 0


def test_a_column_that_separates_alone_is_named():
    X, x = _design()
    indicator = (x > 0.3).astype(float)
    X = np.column_stack([X, indicator])
    y = np.where(indicator == 1, 1.0, (x > -0.5).astype(float))  # indicator=1 -> always 1
    assert separating_effects(X, y, np.ones(x.size)).tolist() == [2]


def test_complete_separation_by_a_combination_is_found_by_the_linear_program():
    X, x = _design()
    y = (x > 0.2).astype(float)  # x - 0.2 separates: a direction in intercept and slope
    found = separating_effects(X, y, np.ones(x.size))
    assert set(found.tolist()) == {0, 1}


def test_rows_with_zero_weight_do_not_count():
    X, x = _design()
    y = (x > 0.2).astype(float)
    weights = np.ones(x.size)
    # two rows against the separation, ignored when their weights are zero
    y[np.argmax(x)] = 0.0
    y[np.argmin(x)] = 1.0
    assert separating_effects(X, y, weights).size == 0
    weights[[np.argmax(x), np.argmin(x)]] = 0.0
    assert set(separating_effects(X, y, weights).tolist()) == {0, 1}


def test_proportions_strictly_inside_constrain_the_direction():
    X, x = _design()
    y = (x > 0.2).astype(float)
    y[0] = 0.5  # a row with 0 < y < 1 needs x_0' d = 0
    X[0, 1] = 0.2
    found = separating_effects(X, y, np.ones(x.size))
    assert set(found.tolist()) == {0, 1}  # d = (-0.2, 1) keeps row 0 at zero
    y[1] = 0.5
    X[1, 1] = 1.5  # a second one no separating line passes through
    assert separating_effects(X, y, np.ones(x.size)).size == 0
