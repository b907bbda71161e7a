"""Complete or quasi-complete separation of a binomial outcome by the fixed effects.

A direction ``d`` of the fixed effects separates the outcomes when ``x_j' d >= 0`` on every
row with y = 1, ``<= 0`` on every row with y = 0 and ``= 0`` on rows with 0 < y < 1, and is
not zero on some row: the likelihood then keeps increasing along ``d``, so the estimates of
the effects that ``d`` moves run off to infinity. Finding such a ``d`` is a linear program
(Konis 2007, as R's detectseparation package): maximise ``sum |x_j' d|`` over the rows with
0/1 outcomes subject to those signs and ``-1 <= d <= 1``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["separating_effects"]

TOLERANCE = 1e-7


def separating_effects(X: np.ndarray, y: np.ndarray, weights: np.ndarray) -> np.ndarray | None:
    """Columns of X moved by a separating direction (empty when there is none).

    None when the linear program could not be solved.
    """
    from scipy.optimize import linprog

    used = weights > 0
    X, y = X[used], y[used]
    p = X.shape[1]
    if p == 0:
        return np.zeros(0, dtype=int)
    scale = np.maximum(np.abs(X).max(axis=0), 1e-300)
    Xs = X / scale
    ones, zeros = y >= 1.0, y <= 0.0
    middle = ~(ones | zeros)
    sign = np.where(ones, 1.0, -1.0)
    signed = Xs[ones | zeros] * sign[ones | zeros][:, None]  # must be >= 0
    # a column that separates on its own (either sign) is the culprit to name
    alone = []
    for k in range(p):
        col = signed[:, k]
        flat = not middle.any() or np.all(Xs[middle, k] == 0)
        if flat and np.any(col != 0) and (np.all(col >= 0) or np.all(col <= 0)):
            alone.append(k)
    if alone:
        return np.array(alone, dtype=int)
    objective = -signed.sum(axis=0)
    result = linprog(
        objective,
        A_ub=-signed,
        b_ub=np.zeros(signed.shape[0]),
        A_eq=Xs[middle] if middle.any() else None,
        b_eq=np.zeros(int(middle.sum())) if middle.any() else None,
        bounds=[(-1.0, 1.0)] * p,
        method="highs",
    )
    if result.status != 0:
        return None
    if -result.fun <= TOLERANCE * max(1, signed.shape[0]):
        return np.zeros(0, dtype=int)
    d = result.x
    return np.flatnonzero(np.abs(d) > 1e-6)
