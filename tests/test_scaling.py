"""The maps between theta of the original and of the internally scaled columns."""

import numpy as np
import pytest

from mixedmodels import scaling


def _lower_factor_by_qr(a: np.ndarray) -> np.ndarray:
    lower = np.linalg.qr(a.T, mode="r").T
    return lower * np.where(np.diag(lower) < 0, -1.0, 1.0)[None, :]


@pytest.mark.parametrize("scale", [1e-8, 1.0, 1e8])
def test_two_by_two_lower_factor_equals_the_qr_route(scale):
    rng = np.random.default_rng(3)
    for k in range(500):
        a = rng.normal(size=(2, 2)) * scale
        if k % 3 == 0:
            a[0, 1] = 0.0  # already lower triangular, signs of any kind
        lower = scaling.lower_factor(a)
        assert lower[0, 1] == 0.0
        assert lower[0, 0] >= 0.0
        assert lower[1, 1] >= 0.0
        np.testing.assert_allclose(lower, _lower_factor_by_qr(a), rtol=1e-12, atol=1e-14 * scale)


def test_two_by_two_lower_factor_with_a_zero_first_row():
    a = np.array([[0.0, 0.0], [3.0, -4.0]])
    lower = scaling.lower_factor(a)
    np.testing.assert_allclose(lower @ lower.T, a @ a.T)
    assert lower[1, 1] >= 0.0


def test_maps_are_inverse_to_each_other_for_a_correlated_term():
    import mixedmodels as mm

    sitka = mm.datasets.load("sitka")
    model = mm.LinearMixedModel("size ~ Time + (Time | tree)", sitka)
    theta = np.array([0.8, -0.3, 0.02])
    back = model.scaling.to_theta(model.scaling.to_scaled(theta))
    np.testing.assert_allclose(back, theta, rtol=1e-12)
