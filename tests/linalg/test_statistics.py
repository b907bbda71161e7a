"""The sufficient statistics A = [Z X y]'[Z X y] held blockwise (mixedmodels.linalg.statistics)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gls_reference import random_problem  # noqa: E402

from mixedmodels.linalg.statistics import (  # noqa: E402
    compute_statistics,
    per_level_crossproducts,
    random_effects_matrix,
)


def dense_A(problem):
    W = np.ones(problem.X.shape[0]) if problem.weights is None else problem.weights
    M = np.column_stack([problem.Z, problem.X, problem.y]) * np.sqrt(W)[:, None]
    return M.T @ M


@pytest.mark.parametrize("weights", [False, True])
@pytest.mark.parametrize("specs", [[(12, 1), (5, 1)], [(10, 2), (4, 1)], [(9, 2)]])
def test_the_three_pieces_are_the_blocks_of_a(specs, weights):
    problem = random_problem(np.random.default_rng(len(specs)), 80, specs, weights=weights)
    stats = compute_statistics(problem.blocks, problem.X, problem.y, problem.weights)
    A = dense_A(problem)
    q1 = specs[0][0] * specs[0][1]
    size1 = specs[0][1]
    for level in range(specs[0][0]):
        block = slice(level * size1, (level + 1) * size1)
        np.testing.assert_allclose(stats.A11[level], A[block, block], rtol=1e-12, atol=1e-12)
    Ar1 = stats.Ar1.toarray() if sp.issparse(stats.Ar1) else stats.Ar1
    np.testing.assert_allclose(Ar1, A[q1:, :q1], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(stats.Arr, A[q1:, q1:], rtol=1e-12, atol=1e-10)
    assert stats.n == 80
    assert stats.p == problem.X.shape[1]
    expected = 0.0 if problem.weights is None else float(np.sum(np.log(problem.weights)))
    assert stats.sum_log_weights == pytest.approx(expected)


def test_random_effects_matrix_puts_each_row_in_its_levels_columns():
    codes = np.array([1, 0, 1])
    matrix = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    Z = random_effects_matrix(codes, matrix, 3).toarray()
    np.testing.assert_array_equal(Z, [[0, 0, 1, 2, 0, 0], [3, 4, 0, 0, 0, 0], [0, 0, 5, 6, 0, 0]])


def test_per_level_crossproducts_sum_the_rows_of_each_level():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 4, 30)
    matrix = rng.normal(size=(30, 3))
    out = per_level_crossproducts(codes, matrix, 5)
    for level in range(5):
        rows = matrix[codes == level]
        np.testing.assert_allclose(out[level], rows.T @ rows, atol=1e-12)
    assert np.all(out[4] == 0.0)  # a level without rows
