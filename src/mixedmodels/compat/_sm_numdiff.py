"""Jacobians by central differences with Richardson extrapolation (Ridders).

A central difference has an error series in even powers of the step ``h``; halving ``h``
and eliminating the leading terms (Neville's tableau) leaves, at a smooth point, a rounding
error of about ``eps * |f| / h``. Differencing an analytic gradient this way gives a Hessian
to about 1e-9 relative (second differences of the function itself lose ``eps |f| / h^2``).
A step that reaches a point where the function is not finite is shrunk before the tableau
starts.

The package's other differences (``inference.satterthwaite``, ``compat._sm_inference``) use
one fixed step (with at most one Richardson step) tuned to their own parameterisations.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np

__all__ = ["jacobian"]

_LEVELS = 8
_SHRINK = 2.0


def _extrapolate(estimate: Callable[[float], float], h0: float) -> float:
    """Ridders' extrapolation of ``estimate(h)`` (error ``O(h^2)``) to ``h -> 0``."""
    h = h0
    for _ in range(30):
        first = estimate(h)
        if np.isfinite(first):
            break
        h /= 4
    else:
        return np.nan
    previous = [first]
    best, error = first, np.inf
    for _ in range(1, _LEVELS):
        h /= _SHRINK
        row = [estimate(h)]
        if not np.isfinite(row[0]):
            break
        factor = _SHRINK**2
        for j in range(1, len(previous) + 1):
            row.append(row[j - 1] + (row[j - 1] - previous[j - 1]) / (factor - 1))
            factor *= _SHRINK**2
            err = max(abs(row[j] - row[j - 1]), abs(row[j] - previous[j - 1]))
            if err <= error:
                best, error = row[j], err
        if abs(row[-1] - previous[-1]) >= 2 * error:
            break
        previous = row
    return float(best)


def jacobian(f: Callable[[np.ndarray], np.ndarray], x, relative: float = 0.05) -> np.ndarray:
    """Jacobian ``J[i, k] = d f_i / d x_k`` of a vector function (entry by entry extrapolated).

    Steps start at ``relative * max(|x_k|, 0.1)``; the evaluations are shared by the entries.
    """
    x = np.asarray(x, dtype=float)
    f0 = np.asarray(f(x), dtype=float)
    out = np.zeros((f0.size, x.size))
    for k in range(x.size):
        cache: dict[float, np.ndarray] = {}

        def central(h: float, k: int = k, cache: dict[float, np.ndarray] = cache) -> np.ndarray:
            if h not in cache:
                up, down = x.copy(), x.copy()
                up[k] += h
                down[k] -= h
                cache[h] = (np.asarray(f(up), dtype=float) - np.asarray(f(down))) / (2 * h)
            return cache[h]

        h0 = relative * max(abs(x[k]), 0.1)
        for i in range(f0.size):
            out[i, k] = _extrapolate(partial(_entry, central, i), h0)
    return out


def _entry(central: Callable[[float], np.ndarray], i: int, h: float) -> float:
    return float(central(h)[i])
