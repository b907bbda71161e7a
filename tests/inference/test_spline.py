"""Mirror tests of mixedmodels.inference._spline: the profile's forward spline and its inverse."""

from __future__ import annotations

import numpy as np
import pytest

from mixedmodels.inference._spline import inverse_spline, natural_spline

_X = np.array([-1.0, -0.4, 0.1, 0.7, 1.5, 2.2])
_Z = np.sinh(_X)  # increasing, curved both ways: a profile's zeta shape


def test_forward_interpolates_and_is_natural():
    spline = natural_spline(_X, _Z)
    np.testing.assert_allclose(spline(_X), _Z, rtol=0, atol=1e-14)
    second = spline.spline(_X[[0, -1]], 2)
    np.testing.assert_allclose(second, 0.0, atol=1e-12)  # natural end conditions


def test_forward_is_linear_beyond_the_knots():
    spline = natural_spline(_X, _Z)
    slope_lo, slope_hi = spline(_X[[0, -1]], derivative=1)
    assert spline(-3.0) == pytest.approx(_Z[0] + slope_lo * (-3.0 - _X[0]))
    assert spline(5.0) == pytest.approx(_Z[-1] + slope_hi * (5.0 - _X[-1]))
    assert spline(9.0, derivative=1) == pytest.approx(slope_hi)


def test_inverse_passes_through_the_knots_with_reciprocal_slopes():
    forward = natural_spline(_X, _Z)
    inverse = inverse_spline(forward)
    np.testing.assert_allclose(inverse(_Z), _X, atol=1e-12)
    # the inner intervals' cubics: slope 1 / the forward slope at both ends (the end
    # intervals are quadratics, or lines when their curvature has the wrong sign)
    h = 1e-6
    for i in range(1, _X.size - 2):
        right = (inverse(_Z[i] + h) - inverse(_Z[i])) / h
        left = (inverse(_Z[i + 1]) - inverse(_Z[i + 1] - h)) / h
        assert right == pytest.approx(1.0 / forward(_X[i], derivative=1), rel=1e-4)
        assert left == pytest.approx(1.0 / forward(_X[i + 1], derivative=1), rel=1e-4)


def test_inverse_is_close_to_the_true_inverse_between_knots():
    x = np.linspace(-1.0, 2.2, 25)
    inverse = inverse_spline(natural_spline(x, np.sinh(x)))
    z = np.linspace(np.sinh(-0.9), np.sinh(2.1), 40)
    np.testing.assert_allclose(inverse(z), np.arcsinh(z), atol=2e-3)


def test_inverse_is_nan_outside_the_knots_and_scalar_in_scalar_out():
    inverse = inverse_spline(natural_spline(_X, _Z))
    assert np.isnan(inverse(_Z[-1] + 0.1))
    assert np.isnan(inverse(np.nan))
    assert np.ndim(inverse(0.0)) == 0


def test_a_non_monotone_profile_is_refused():
    with pytest.raises(ValueError, match="not monotone"):
        inverse_spline(natural_spline(_X, np.cos(_X)))
