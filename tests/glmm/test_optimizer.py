"""BOBYQA with per-component steps, as the GLMM fit runs it (mixedmodels.glmm.optimizer)."""

from __future__ import annotations

import numpy as np
import pytest

from mixedmodels.errors import FittingError
from mixedmodels.glmm.optimizer import bobyqa

A = np.array([[3.0, 1.0], [1.0, 2.0]])
M = np.array([0.5, 1.5])


def quadratic(x):
    d = x - M
    return float(d @ A @ d) + 1.0


def test_bobyqa_finds_the_minimum_and_counts_evaluations():
    x, value, count, status = bobyqa(quadratic, np.zeros(2), np.full(2, -np.inf), np.full(2, 0.5))
    np.testing.assert_allclose(x, M, atol=1e-3)
    assert value == pytest.approx(1.0, abs=1e-6)
    assert count > 2
    assert status in ("SUCCESS", "FTOL_REACHED", "XTOL_REACHED")


def test_bobyqa_keeps_the_lower_bounds():
    x, _, _, _ = bobyqa(quadratic, np.ones(2), np.array([1.0, -np.inf]), np.full(2, 0.5))
    assert x[0] >= 1.0
    assert x[0] == pytest.approx(1.0, abs=1e-6)


def test_bobyqa_returns_the_best_point_seen_and_treats_nan_as_bad():
    def holey(x):
        return np.nan if x[0] > 1.0 else quadratic(x)

    x, value, _, _ = bobyqa(holey, np.zeros(2), np.full(2, -np.inf), np.full(2, 0.5))
    assert value == pytest.approx(holey(x))
    assert np.isfinite(value)


def test_bobyqa_refuses_a_non_finite_start():
    with pytest.raises(FittingError, match="not finite at the starting values"):
        bobyqa(lambda x: np.inf, np.zeros(1), np.full(1, -np.inf), np.ones(1))


def test_no_parameters_is_one_evaluation():
    x, value, count, status = bobyqa(lambda x: 4.0, np.zeros(0), np.zeros(0), np.zeros(0))
    assert (value, count, status) == (4.0, 1, "SUCCESS")
