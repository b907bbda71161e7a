"""Gradients and Hessians by central differences with Richardson extrapolation (Ridders).

A central difference has an error series in even powers of the step ``h``; halving ``h``
and eliminating the leading terms (Neville's tableau) leaves, at a smooth point, an error of
about ``eps * |f| / h`` (gradient) or ``eps * |f| / h^2`` (Hessian) from rounding: 1e-9 and
better relative to the derivatives of a log-likelihood. A step that reaches a point where the
function is not finite is halved before the tableau starts.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["gradient", "hessian"]

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


def _steps(x: np.ndarray, relative: float) -> np.ndarray:
    return relative * np.maximum(np.abs(x), 0.1)


def gradient(f: Callable[[np.ndarray], float], x, relative: float = 0.05) -> np.ndarray:
    """Gradient of ``f`` at ``x``."""
    x = np.asarray(x, dtype=float)
    steps = _steps(x, relative)
    out = np.zeros(x.size)
    for k in range(x.size):

        def central(h: float, k: int = k) -> float:
            up, down = x.copy(), x.copy()
            up[k] += h
            down[k] -= h
            return (f(up) - f(down)) / (2 * h)

        out[k] = _extrapolate(central, steps[k])
    return out


def hessian(f: Callable[[np.ndarray], float], x, relative: float = 0.05) -> np.ndarray:
    """Hessian of ``f`` at ``x`` (symmetric)."""
    x = np.asarray(x, dtype=float)
    steps = _steps(x, relative)
    f0 = f(x)
    out = np.zeros((x.size, x.size))
    for k in range(x.size):

        def second(t: float, k: int = k) -> float:
            h = t * steps[k]
            up, down = x.copy(), x.copy()
            up[k] += h
            down[k] -= h
            return (f(up) - 2 * f0 + f(down)) / h**2

        out[k, k] = _extrapolate(second, 1.0)
        for m in range(k):

            def mixed(t: float, k: int = k, m: int = m) -> float:
                hk, hm = t * steps[k], t * steps[m]
                values = []
                for sk, sm in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                    point = x.copy()
                    point[k] += sk * hk
                    point[m] += sm * hm
                    values.append(f(point))
                return (values[0] - values[1] - values[2] + values[3]) / (4 * hk * hm)

            out[k, m] = out[m, k] = _extrapolate(mixed, 1.0)
    return out
