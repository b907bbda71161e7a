"""Interpolation of a likelihood profile: zeta as a function of a parameter, and its inverse.

The forward curve is the natural cubic interpolating spline of zeta on the parameter (linear
beyond the end points), as R's ``splines::interpSpline``. Its inverse is R's
``splines::backSpline`` construction, which lme4 uses for profile intervals: on the zeta
knots, a cubic in every inner interval matching the parameter values and the reciprocal
slopes of the forward spline at both ends; a quadratic in the two end intervals (matching the
slope at the inner end only), made linear when its curvature has the wrong sign; undefined
(NaN) outside the range of the knots.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import CubicSpline

__all__ = ["NaturalSpline", "InverseSpline", "natural_spline", "inverse_spline"]


@dataclass(frozen=True, eq=False)
class NaturalSpline:
    """Natural cubic interpolating spline ``y(x)``, linear outside the knots."""

    x: np.ndarray
    y: np.ndarray
    spline: CubicSpline

    def __call__(self, values, derivative: int = 0) -> np.ndarray:
        """Evaluate the spline (or its first derivative) at ``values``."""
        t = np.asarray(values, dtype=float)
        out = np.asarray(self.spline(t, derivative), dtype=float)
        lo, hi = self.x[0], self.x[-1]
        slopes = self.spline(np.array([lo, hi]), 1)
        if derivative == 0:
            out = np.where(t < lo, self.y[0] + slopes[0] * (t - lo), out)
            out = np.where(t > hi, self.y[-1] + slopes[1] * (t - hi), out)
        elif derivative == 1:
            out = np.where(t < lo, slopes[0], np.where(t > hi, slopes[1], out))
        return out


def natural_spline(x: np.ndarray, y: np.ndarray) -> NaturalSpline:
    """Natural interpolating spline through ``(x, y)``; x strictly increasing, 2+ points."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    return NaturalSpline(x=x, y=y, spline=CubicSpline(x, y, bc_type="natural"))


@dataclass(frozen=True, eq=False)
class InverseSpline:
    """Piecewise polynomial ``x(z)`` on increasing knots; NaN outside them.

    Attributes
    ----------
    knots
        ``(m,)`` increasing zeta values.
    coef
        ``(m - 1, 4)`` coefficients of ``1, t, t^2, t^3`` with ``t = z - knots[i]``.
    """

    knots: np.ndarray
    coef: np.ndarray

    def __call__(self, values) -> np.ndarray:
        """Evaluate at ``values`` (NaN outside the knots)."""
        z = np.atleast_1d(np.asarray(values, dtype=float))
        index = np.clip(np.searchsorted(self.knots, z, side="left") - 1, 0, len(self.coef) - 1)
        t = z - self.knots[index]
        c = self.coef[index]
        out = c[:, 0] + t * (c[:, 1] + t * (c[:, 2] + t * c[:, 3]))
        outside = (z < self.knots[0]) | (z > self.knots[-1]) | np.isnan(z)
        out = np.where(outside, np.nan, out)
        return out if np.ndim(values) else out[0]


def inverse_spline(forward: NaturalSpline) -> InverseSpline:
    """The monotone inverse of an increasing forward spline (R's ``backSpline``).

    Raises
    ------
    ValueError
        When the forward spline's knot values are not strictly increasing.
    """
    x, z = forward.x, forward.y
    dz = np.diff(z)
    if not np.all(dz > 0):
        raise ValueError("the profile is not monotone")
    dx = np.diff(x)
    slope = 1.0 / forward(x, derivative=1)
    m = x.size
    coef = np.zeros((m - 1, 4))
    coef[:, 0] = x[:-1]
    coef[:, 1] = slope[:-1]
    for i in range(m - 1):
        a = dz[i]
        system = np.array([[a * a, a**3], [2.0 * a, 3.0 * a * a]])
        rhs = np.array([dx[i] - a * slope[i], slope[i + 1] - slope[i]])
        coef[i, 2:] = np.linalg.solve(system, rhs)
    if m > 2:
        # end intervals: quadratics matching the slope at their inner end only
        a = dz[0]
        system = np.array([[a, a * a], [1.0, 2.0 * a]])
        coef[0, 1:3] = np.linalg.solve(system, np.array([dx[0], slope[1]]))
        coef[0, 3] = 0.0
        a = dz[-1]
        coef[-1, 2] = (dx[-1] - a * coef[-1, 1]) / (a * a)
        coef[-1, 3] = 0.0
    # an end quadratic bending the wrong way becomes the chord
    if coef[0, 2] > 0:
        coef[0, 1:] = (dx[0] / dz[0], 0.0, 0.0)
    if coef[-1, 2] < 0:
        coef[-1, 1:] = (dx[-1] / dz[-1], 0.0, 0.0)
    return InverseSpline(knots=z.copy(), coef=coef)
