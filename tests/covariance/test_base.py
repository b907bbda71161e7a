"""What every covariance structure shares (mixedmodels.covariance.base)."""

from __future__ import annotations

import numpy as np
import pytest

from mixedmodels.covariance import (
    AutoRegressive1,
    Covariance,
    Diagonal,
    Unstructured,
    robust_cholesky,
)
from mixedmodels.covariance.base import lag_means


def test_a_structure_must_define_its_parts():
    with pytest.raises(TypeError):
        Covariance(2)  # type: ignore[abstract]


def test_lambda_of_a_linear_structure_gathers_theta():
    us = Unstructured(2)
    lam = us.lambda_(np.array([2.0, 0.5, 3.0]))
    np.testing.assert_array_equal(lam, [[2.0, 0.0], [0.5, 3.0]])
    np.testing.assert_array_equal(us.relative_covariance([2.0, 0.5, 3.0]), lam @ lam.T)
    np.testing.assert_array_equal(Diagonal(3).lambda_([1.0, 2.0, 3.0]), np.diag([1.0, 2.0, 3.0]))


def test_rescale_multiplies_standard_deviations_not_correlations():
    ar1 = AutoRegressive1(3)
    theta = np.array([1.5, 0.4])
    out = ar1.rescale(theta, np.array([2.0, 2.0, 2.0]))
    assert out[0] == pytest.approx(3.0)
    assert out[1] == 0.4
    np.testing.assert_array_equal(theta, [1.5, 0.4])  # not changed in place


def test_rescale_of_an_unstructured_term_scales_its_diagonal_entries():
    us = Unstructured(2)
    assert us.sd_columns().tolist() == [0, -1, 1]
    out = us.rescale(np.array([2.0, 0.5, 3.0]), np.array([10.0, 0.1]))
    np.testing.assert_allclose(out, [20.0, 0.5, 0.3])


def test_is_singular_reads_lambdas_diagonal():
    us = Unstructured(2)
    assert us.is_singular(np.array([1.0, 0.5, 1e-6]), 1e-4)
    assert not us.is_singular(np.array([1.0, 0.5, 1.0]), 1e-4)


def test_natural_bounds_are_zero_for_sds_and_one_for_correlations():
    lower, upper = AutoRegressive1(4).natural_bounds()
    assert lower.tolist() == [0.0, -1.0]
    assert upper.tolist() == [np.inf, 1.0]
    assert AutoRegressive1(4).natural_is_sd().tolist() == [True, False]


def test_natural_parameters_round_trip():
    us = Unstructured(3)
    theta = np.array([1.0, 0.3, -0.2, 2.0, 0.1, 0.5])
    np.testing.assert_allclose(us.from_natural(us.natural(theta)), theta, rtol=1e-12)


def test_lag_means_average_each_off_diagonal():
    c = np.array([[1.0, 0.5, 0.1], [0.5, 1.0, 0.3], [0.1, 0.3, 1.0]])
    np.testing.assert_allclose(lag_means(c), [0.4, 0.1])


def test_robust_cholesky_of_a_positive_definite_matrix_is_lapacks():
    a = np.array([[4.0, 2.0], [2.0, 3.0]])
    np.testing.assert_allclose(robust_cholesky(a), np.linalg.cholesky(a))


def test_robust_cholesky_of_a_singular_matrix_has_a_zero_column():
    v = np.array([1.0, 2.0, 3.0])
    a = np.outer(v, v) + np.diag([0.0, 0.0, 1.0])  # rank 2: column 2 a copy of column 1
    a[:, 1] = a[:, 0] * 2
    a[1, :] = a[0, :] * 2
    L = robust_cholesky(a)
    np.testing.assert_allclose(L @ L.T, a, atol=1e-12)
    assert np.all(L[:, 1] == 0.0)
