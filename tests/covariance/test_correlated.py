"""cs, homcs, ar1 and toep: lambda is the Cholesky factor of the structured covariance."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import toeplitz

from mixedmodels.covariance import (
    STRUCTURES,
    AutoRegressive1,
    CompoundSymmetry,
    HomogeneousCompoundSymmetry,
    Toeplitz,
    make_covariance,
    robust_cholesky,
)
from mixedmodels.covariance.correlated import acf_to_pacf, cs_factor, pacf_to_acf

KINDS = sorted(STRUCTURES)


def _lower(lam):
    return np.array_equal(np.triu(lam, 1), np.zeros_like(lam))


@pytest.mark.parametrize("rho", [-1.0, -0.4, 0.0, 0.7, 0.999, 1.0])
def test_ar1_covariance(rho):
    ar1 = AutoRegressive1(6)
    lam = ar1.lambda_(np.array([1.7, rho]))
    lags = np.abs(np.subtract.outer(np.arange(6), np.arange(6)))
    np.testing.assert_allclose(lam @ lam.T, 1.7**2 * rho**lags, atol=1e-14)
    assert _lower(lam)
    assert np.all(np.diag(lam) >= 0)


@pytest.mark.parametrize("rho", [-1 / 3, -0.2, 0.0, 0.5, 1.0])
def test_cs_covariance_and_its_edges(rho):
    sds = np.array([0.5, 1.0, 2.0, 3.0])
    cs = CompoundSymmetry(4)
    lam = cs.lambda_(np.r_[sds, rho])
    R = np.full((4, 4), rho) + (1 - rho) * np.eye(4)
    np.testing.assert_allclose(lam @ lam.T, np.outer(sds, sds) * R, atol=1e-14)
    assert _lower(lam)
    edge = rho in (-1 / 3, 1.0)
    assert cs.is_singular(np.r_[sds, rho], 1e-4) == edge
    assert np.allclose(cs_factor(rho, 4) @ cs_factor(rho, 4).T, R)


def test_cs_outside_its_range_gives_no_lambda():
    cs = CompoundSymmetry(3)
    assert np.isnan(cs.lambda_(np.array([1.0, 1.0, 1.0, -0.6]))).all()
    assert cs.from_natural(np.array([1.0, 1.0, 1.0, 1.2])) is None
    assert cs.lower_bounds()[-1] == -0.5
    assert cs.upper_bounds()[-1] == 1.0


def test_homcs_is_cs_with_one_sd():
    homcs, cs = HomogeneousCompoundSymmetry(5), CompoundSymmetry(5)
    np.testing.assert_allclose(
        homcs.lambda_(np.array([1.3, 0.4])), cs.lambda_(np.r_[np.full(5, 1.3), 0.4]), atol=1e-15
    )
    assert homcs.n_theta == 2
    assert homcs.kr_linear


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-0.99, 0.99), min_size=1, max_size=8))
def test_partial_autocorrelations_give_positive_definite_toeplitz(pacf):
    acf = pacf_to_acf(np.array(pacf))
    assert np.linalg.eigvalsh(toeplitz(np.r_[1.0, acf])).min() > 0
    np.testing.assert_allclose(acf_to_pacf(acf), pacf, atol=1e-8)


def test_toeplitz_covariance():
    toep = Toeplitz(4)
    sds, pacf = np.array([1.0, 2.0, 0.5, 1.5]), np.array([0.6, -0.3, 0.2])
    lam = toep.lambda_(np.r_[sds, pacf])
    R = toeplitz(np.r_[1.0, pacf_to_acf(pacf)])
    np.testing.assert_allclose(lam @ lam.T, np.outer(sds, sds) * R, atol=1e-13)
    assert _lower(lam)
    natural = toep.natural(np.r_[sds, pacf])
    np.testing.assert_allclose(natural[4:], pacf_to_acf(pacf))
    assert toep.from_natural(np.r_[sds, 0.9, -0.9, 0.9]) is None  # not positive definite
    singular = toep.lambda_(np.r_[sds, 1.0, 0.3, 0.3])  # phi_1 = 1: every column alike
    np.testing.assert_allclose(singular @ singular.T, np.outer(sds, sds), atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(2, 9),
    st.lists(st.floats(-1.0, 1.0), min_size=8, max_size=8),
    st.lists(st.floats(0.0, 3.0), min_size=9, max_size=9),
)
def test_compiled_toeplitz_factor_is_the_numpy_one(size, pacf, sds):
    toep = Toeplitz(size)
    theta = np.r_[sds[:size], pacf[: size - 1]]
    got, want = toep.lambda_(theta), toep.numpy_lambda(theta)
    np.testing.assert_allclose(got @ got.T, want @ want.T, atol=1e-12)
    if np.all(np.abs(pacf[: size - 1]) < 0.99):  # well conditioned: the factors themselves
        np.testing.assert_allclose(got, want, atol=1e-10)


def test_robust_cholesky_of_a_singular_matrix():
    v = np.array([1.0, 2.0, -1.0])
    a = np.outer(v, v) + np.diag([0.0, 0.0, 0.0])
    lam = robust_cholesky(a)
    np.testing.assert_allclose(lam @ lam.T, a, atol=1e-14)


def _theta_inside(structure, rng):
    lower, upper = structure.lower_bounds(), structure.upper_bounds()
    theta = rng.uniform(0.3, 2.0, structure.n_theta)
    boxed = np.isfinite(upper)
    theta[boxed] = rng.uniform(0.6 * lower[boxed], 0.8 * upper[boxed])
    if structure.kind == "us":
        theta = rng.normal(size=structure.n_theta)
        theta[structure.lower_bounds() == 0] = np.abs(theta[structure.lower_bounds() == 0])
    return theta


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("size", [2, 3, 5])
def test_every_structure_round_trips_and_rescales(kind, size):
    rng = np.random.default_rng(size)
    structure = make_covariance(kind, size)
    theta = _theta_inside(structure, rng)
    lam = structure.lambda_(theta)
    assert _lower(lam)
    np.testing.assert_allclose(structure.from_natural(structure.natural(theta)), theta, atol=1e-12)
    sigma2 = 2.5
    np.testing.assert_allclose(
        structure.kr_covariance(structure.kr_parameters(theta, sigma2)),
        sigma2 * lam @ lam.T,
        rtol=1e-12,
        atol=1e-12,
    )
    assert len(structure.natural_names(tuple(f"c{j}" for j in range(size)))) == structure.n_theta
    if structure.scaling == "affine":
        return
    t = rng.uniform(0.5, 3.0, size) if structure.scaling == "columns" else np.full(size, 1.7)
    scaled = structure.lambda_(structure.rescale(theta, t))
    np.testing.assert_allclose(scaled @ scaled.T, np.diag(t) @ lam @ lam.T @ np.diag(t), atol=1e-12)
