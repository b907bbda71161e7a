"""Estimability of linear functions of a rank-deficient design (inference.estimability)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.inference.estimability import Aliasing, aliasing


def deficient():
    """x2 = x1 + 1 (an exact copy of intercept + x1): lme4 drops x2."""
    rng = np.random.default_rng(0)
    g = np.repeat(np.arange(10), 5)
    x1 = rng.normal(size=50)
    y = 1 + x1 + rng.normal(size=10)[g] + rng.normal(size=50)
    return pd.DataFrame({"y": y, "x1": x1, "x2": x1 + 1.0, "g": g})


@pytest.fixture(scope="module")
def fit():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mm.errors.RankDeficiencyWarning)
        return mm.lmer("y ~ x1 + x2 + (1 | g)", deficient())


def test_a_full_rank_fit_has_no_aliasing():
    fit = mm.lmer("Reaction ~ Days + (1 | Subject)", mm.datasets.load("sleepstudy"))
    assert aliasing(fit) is None


def test_the_dropped_column_and_the_null_space(fit):
    found = aliasing(fit, deficient())
    assert isinstance(found, Aliasing)
    assert found.dropped.tolist() == [2]
    assert found.kept.tolist() == [0, 1]
    assert found.null_basis.shape == (3, 1)
    # X n = 0 for the full X = [1, x1, x1 + 1]: n is proportional to (1, 1, -1)
    n = found.null_basis[:, 0]
    np.testing.assert_allclose(n / n[0], [1.0, 1.0, -1.0], rtol=1e-10)
    np.testing.assert_allclose(np.linalg.norm(n), 1.0)


def test_estimable_functions_are_orthogonal_to_the_null_space(fit):
    found = aliasing(fit, deficient())
    L = np.array(
        [
            [1.0, 0.0, 1.0],  # mean at x1 = 0, x2 = 1: estimable
            [0.0, 1.0, 1.0],  # effect of x1 moving x2 with it: estimable
            [0.0, 1.0, 0.0],  # x1 alone, x2 held: not estimable
            [0.0, 0.0, 1.0],  # x2 alone: not estimable
        ]
    )
    assert found.estimable(L).tolist() == [True, True, False, False]
    assert found.estimable(L[0]).tolist() == [True]


def test_the_fits_own_data_serve_without_data(fit):
    found = aliasing(fit)
    assert found.dropped.tolist() == [2]
    np.testing.assert_array_equal(found.null_basis, aliasing(fit, deficient()).null_basis)


def test_other_data_are_refused(fit):
    other = deficient().assign(x1=lambda d: d["x1"] * 2.0)
    with pytest.raises(mm.errors.InferenceError, match="do not give this fit"):
        aliasing(fit, other)
