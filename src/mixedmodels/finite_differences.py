"""Finite differences: central gradients, Jacobians and Hessians, one place for every caller.

The convergence check (:mod:`mixedmodels.convergence`), the GLMM's Newton polish
(:mod:`mixedmodels.glmm.fitting`), Satterthwaite's and Kenward-Roger's derivatives
(:mod:`mixedmodels.inference`) and the statsmodels facade's observed information
(:mod:`mixedmodels.compat`) all take their derivatives here. Each caller chooses the steps
``h`` (:func:`relative_steps` is the rule of the first two) and one of three rules for the
mixed second derivatives, named by ``cross``:

``"corner"``
    one more point per pair, ``f(x + h_i e_i + h_j e_j)``, against the forward points:
    ``(f_ij - f_i - f_j + f_0) / (h_i h_j)``, error O(h), ``2k + k(k-1)/2`` evaluations.
    The axis points come in pairs, ``x + h_i e_i`` then ``x - h_i e_i``.
``"diagonal"``
    two more points per pair, ``x + h_i e_i + h_j e_j`` and ``x - h_i e_i - h_j e_j``:
    ``(f_++ + f_-- - (f_i+ + f_i- + f_j+ + f_j-) + 2 f_0) / (2 h_i h_j)``, error O(h^2).
    Every ``x + h_i e_i`` first, then every ``x - h_i e_i``.
``"diagonal-sequential"``
    the same points and formula, the axis values subtracted one at a time,
    ``((((f_++ + f_--) - f_i+) - f_i-) - f_j+) - f_j- + 2 f_0``. The two summations round
    differently, and the cancellation magnifies that by ``1 / h^2`` (about 1e-8 of the
    curvature at ``h = 1e-4``): Satterthwaite's df use the first, Kenward-Roger's
    derivatives of nonlinear structures the second, each as it always has, so that neither
    result moved when the two were merged here.
``"four"``
    four more points per pair, ``(f_++ - f_+- - f_-+ + f_--) / (4 h_i h_j)``, error O(h^2);
    the axis points as for ``"diagonal"``.

The order of the evaluations is fixed by the rule (an objective that warm-starts from its
last point, as PIRLS does, sees the same sequence every time), and the arithmetic is written
once, so a caller's numbers do not depend on how the points were evaluated: ``batch``, when
given, evaluates a list of points at once (e.g. in parallel) and returns their values in
order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np

__all__ = ["relative_steps", "gradient", "jacobian", "hessian"]

Cross = Literal["corner", "diagonal", "diagonal-sequential", "four"]
Batch = Callable[[list[np.ndarray]], Sequence[Any]]


def relative_steps(
    x: np.ndarray, step: float, lower: np.ndarray | None = None, upper: np.ndarray | None = None
) -> np.ndarray:
    """Steps ``step * max(1, |x_i|)``, kept inside a finite box.

    Where both bounds are given and ``upper`` is finite, at most half the distance to the
    nearer bound.
    """
    h = step * np.maximum(1.0, np.abs(x))
    if lower is not None and upper is not None:
        room = np.minimum(x - lower, upper - x)
        boxed = np.isfinite(upper)
        h[boxed] = np.minimum(h[boxed], 0.5 * room[boxed])
    return h


def _evaluate(f: Callable, points: list[np.ndarray], batch: Batch | None) -> list:
    if batch is not None and points:
        return list(batch(points))
    return [f(point) for point in points]


def _indices(x: np.ndarray, free: np.ndarray | None) -> list[int]:
    if free is None:
        return list(range(x.size))
    free = np.asarray(free)
    return (np.flatnonzero(free) if free.dtype == bool else free).tolist()


def _moved(x: np.ndarray, h: list[float], *moves: tuple[int, bool]) -> np.ndarray:
    """``x`` with ``h_i`` added to component ``i`` (subtracted when not ``up``) per move."""
    point = x.copy()
    for i, up in moves:
        if up:
            point[i] += h[i]
        else:
            point[i] -= h[i]
    return point


def gradient(
    f: Callable[[np.ndarray], Any],
    x: np.ndarray,
    h: np.ndarray,
    free: np.ndarray | None = None,
    batch: Batch | None = None,
) -> np.ndarray:
    """Central differences ``(f(x + h_i e_i) - f(x - h_i e_i)) / (2 h_i)`` on ``free``.

    ``free``: a mask or the indices of the components to differentiate (default: all).
    For a vector-valued ``f`` row ``a`` is the derivative along the ``a``-th free component
    (the transposed Jacobian). Points in pairs, ``x + h_i e_i`` then ``x - h_i e_i``.
    """
    idx = _indices(x, free)
    steps = np.asarray(h, dtype=float).tolist()
    points = []
    for i in idx:
        points += [_moved(x, steps, (i, True)), _moved(x, steps, (i, False))]
    values = [np.asarray(v, dtype=float) for v in _evaluate(f, points, batch)]
    rows = [(values[2 * a] - values[2 * a + 1]) / (2.0 * steps[i]) for a, i in enumerate(idx)]
    if not rows:
        return np.zeros((0,))
    return np.array(rows)


def jacobian(f: Callable[[np.ndarray], Any], x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Central-difference Jacobian of a vector function (one column per component of ``x``).

    With no components, ``f(x)`` is evaluated once for the number of rows.
    """
    if x.size == 0:
        return np.zeros((np.size(f(x)), 0))
    return gradient(f, x, h).T


def hessian(
    f: Callable[[np.ndarray], Any],
    x: np.ndarray,
    h: np.ndarray,
    f0: Any = None,
    free: np.ndarray | None = None,
    batch: Batch | None = None,
    cross: Cross = "corner",
    leading: int | None = None,
    cross_f: Callable[[np.ndarray], Any] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Central-difference gradient and Hessian on the ``free`` components (see the module notes).

    ``f0``: ``f(x)`` when already known (else evaluated first). ``cross``: the rule for the
    mixed derivatives. ``leading``: for a vector-valued ``f``, the Hessian of its first
    ``leading`` entries only (default: every entry); ``cross_f`` then evaluates the points
    off the axes instead of ``f`` and may return just those entries (not with ``batch``,
    which evaluates ``f``). Returns the gradient,
    shape ``(k,) + f.shape``, and the Hessian, shape ``(k, k) + (leading,)`` (``(k, k) +
    f.shape`` without ``leading``), ``k`` the number of free components.
    """
    if cross not in ("corner", "diagonal", "diagonal-sequential", "four"):
        raise ValueError(
            f"cross must be 'corner', 'diagonal', 'diagonal-sequential' or 'four', not {cross!r}"
        )
    if cross_f is not None and batch is not None:
        raise ValueError("batch evaluates f: it cannot evaluate cross_f's points too")
    if f0 is None:
        f0 = f(x)
    idx = _indices(x, free)
    k = len(idx)
    steps = np.asarray(h, dtype=float).tolist()
    plus = [_moved(x, steps, (i, True)) for i in idx]
    minus = [_moved(x, steps, (i, False)) for i in idx]
    if cross == "corner":
        axis = [point for pair in zip(plus, minus) for point in pair]
    else:
        axis = plus + minus
    pairs = [(a, b) for a in range(k) for b in range(a)]
    patterns = {
        "corner": [(True, True)],
        "diagonal": [(True, True), (False, False)],
        "diagonal-sequential": [(True, True), (False, False)],
        "four": [(True, True), (True, False), (False, True), (False, False)],
    }[cross]
    off = [_moved(x, steps, (idx[a], sa), (idx[b], sb)) for a, b in pairs for sa, sb in patterns]
    if cross_f is None:
        values = _evaluate(f, axis + off, batch)
        on_axis, off_axis = values[: 2 * k], values[2 * k :]
    else:
        on_axis = _evaluate(f, axis, batch)
        off_axis = _evaluate(cross_f, off, batch)
    f0 = np.asarray(f0, dtype=float)
    if f0.ndim:  # vector-valued: arrays, and the leading entries for the Hessian
        on_axis = [np.asarray(v, dtype=float) for v in on_axis]
        lead: tuple = () if leading is None else (slice(None, leading),)
        f0_lead: Any = f0[lead]
        off_axis = [np.asarray(v, dtype=float)[lead] for v in off_axis]
    else:  # scalars: the values as they come (the same arithmetic, less overhead)
        lead = ()
        f0 = f0_lead = float(f0)
    if cross == "corner":
        fp, fm = on_axis[0::2], on_axis[1::2]
    else:
        fp, fm = on_axis[:k], on_axis[k:]
    fp_lead = [v[lead] for v in fp] if lead else fp
    fm_lead = [v[lead] for v in fm] if lead else fm
    grad = np.zeros((k, *np.shape(f0)))
    hess = np.zeros((k, k, *np.shape(f0_lead)))
    for a, i in enumerate(idx):
        grad[a] = (fp[a] - fm[a]) / (2.0 * steps[i])
        # h * h and h ** 2 as their callers always wrote them: pow need not round as a
        # product does, and the numbers are to stay what they were
        square = steps[i] * steps[i] if cross == "corner" else steps[i] ** 2
        hess[a, a] = (fp_lead[a] - 2.0 * f0_lead + fm_lead[a]) / square
    n = len(patterns)
    for number, (a, b) in enumerate(pairs):
        i, j = idx[a], idx[b]
        got = off_axis[n * number : n * (number + 1)]
        pa, ma, pb, mb = fp_lead[a], fm_lead[a], fp_lead[b], fm_lead[b]
        if cross == "corner":
            value = (got[0] - pa - pb + f0_lead) / (steps[i] * steps[j])
        elif cross == "diagonal":
            both = got[0] + got[1]
            value = (both - (pa + ma + pb + mb) + 2.0 * f0_lead) / (2.0 * steps[i] * steps[j])
        elif cross == "diagonal-sequential":
            around = got[0] + got[1] - pa - ma - pb - mb
            value = (around + 2.0 * f0_lead) / (2.0 * steps[i] * steps[j])
        else:
            value = (got[0] - got[1] - got[2] + got[3]) / (4.0 * steps[i] * steps[j])
        hess[a, b] = hess[b, a] = value
    return grad, hess
