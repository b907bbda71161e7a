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


@pytest.mark.parametrize("order", ["C", "F"])
def test_column_summary_is_numpys_mean_std_and_rms_to_the_bit(order):
    from mixedmodels.scaling import ColumnSummary

    rng = np.random.default_rng(11)
    matrix = np.array(
        np.column_stack([np.ones(257), 1e4 + rng.normal(size=257), rng.normal(size=257) ** 3]),
        order=order,
    )
    got = ColumnSummary.of(matrix)
    for j in range(matrix.shape[1]):
        col = matrix[:, j]
        assert got.mean[j] == np.mean(col)
        assert got.sd[j] == np.std(col)
        assert got.rms[j] == np.sqrt(np.mean(col**2))
        assert got.constant[j] == (np.ptp(col) == 0)
