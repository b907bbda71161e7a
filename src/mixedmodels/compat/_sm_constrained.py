"""``fit(free=...)`` masks that hold part of a correlated block: statsmodels' constraint.

statsmodels optimises its profile log-likelihood over the *packed* variance parameters of the
model's parameterisation: with ``use_sqrt`` (the default) the lower triangle, row by row, of
the Cholesky factor ``L`` of ``psi = cov_re / scale`` and the square roots of ``vcomp /
scale``; without it ``psi``'s lower triangle and ``vcomp / scale`` themselves. Its score is
multiplied by the mask (``free.cov_re``'s lower triangle, ``free.vcomp``), so the optimiser
never moves a masked entry: a zero holds that packed entry at its start value (``L`` of the
start's ``cov_re``; the default start is ``cov_re = I``, ``vcomp = 1``). The upper triangle
of ``free.cov_re`` is not read.

Entries held at zero between two sets of columns make them independent: those sets become
separate engine terms (a block diagonal ``psi``). Any other held entry is a constraint inside
a block: :class:`PackedConstraint` is the map from the free packed entries to the engine's
theta (``psi = L L'`` re-factored per term), and :func:`fit_constrained` minimises the
engine's criterion over those entries (BOBYQA, restarted where it stops while the criterion
still falls, then Newton steps while they lower it). In the
square-root parameterisation the entries are unbounded, as in statsmodels (a negative
diagonal of ``L`` matters where a held entry below it is not zero); without it the variances
are bounded below by 0 and ``psi`` must stay positive semi-definite (statsmodels' optimiser
may leave that set; ours does not).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mixedmodels.compat._sm_map import ParamMap
from mixedmodels.convergence import check_convergence, convergence_messages, polish
from mixedmodels.optimize import DEFAULT_CONTROL, OptSummary, minimize

__all__ = ["PackedConstraint", "fit_constrained", "independent_blocks", "result_of_search"]

_POLISH_ROUNDS = 4
_RESTARTS = 10


def independent_blocks(k_re: int, held_zero: np.ndarray) -> list[tuple[int, ...]]:
    """Sets of ``exog_re`` columns linked by an off-diagonal that is not held at zero.

    ``held_zero`` is ``(k_re, k_re)``, read below the diagonal.
    """
    label = list(range(k_re))
    for i in range(k_re):
        for j in range(i):
            if not held_zero[i, j]:
                a, b = label[i], label[j]
                label = [a if x == b else x for x in label]
    return [tuple(k for k in range(k_re) if label[k] == root) for root in dict.fromkeys(label)]


@dataclass(frozen=True, eq=False)
class PackedConstraint:
    """statsmodels' packed variance parameters with some entries held at their start.

    Attributes
    ----------
    pmap
        The engine's theta <-> (psi, vcomp / scale) map.
    use_sqrt
        The parameterisation (Cholesky factor and square roots, or psi and vcomp).
    free
        Mask over the packed variance entries (lower triangle row by row, then vcomp).
    start
        The packed start; held entries keep these values.
    """

    pmap: ParamMap
    use_sqrt: bool
    free: np.ndarray
    start: np.ndarray

    @property
    def x_start(self) -> np.ndarray:
        """The free entries at the start."""
        return self.start[self.free].copy()

    @property
    def lower(self) -> np.ndarray:
        """Bounds of the free entries: none for square roots, 0 for psi's diagonal and vcomp."""
        k = self.pmap.k_re
        bound = np.full(self.start.size, -np.inf)
        if not self.use_sqrt:
            rows, cols = np.tril_indices(k)
            bound[: rows.size][rows == cols] = 0.0
            bound[rows.size :] = 0.0
        return bound[self.free]

    def packed(self, x: np.ndarray) -> np.ndarray:
        """The whole packed vector with the free entries ``x``."""
        out = self.start.copy()
        out[self.free] = x
        return out

    def point(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """``(psi, vcomp / scale)`` at ``x``; None where it is not a covariance."""
        k = self.pmap.k_re
        v = self.packed(np.asarray(x, dtype=float))
        k2 = k * (k + 1) // 2
        tri = np.zeros((k, k))
        tri[np.tril_indices(k)] = v[:k2]
        if self.use_sqrt:
            return tri @ tri.T, v[k2:] ** 2
        psi = tri + tri.T - np.diag(np.diag(tri))
        vc = v[k2:]
        if (vc.size and vc.min() < 0) or (k and np.linalg.eigvalsh(psi).min() < 0):
            return None
        return psi, vc

    def theta(self, x: np.ndarray) -> np.ndarray | None:
        """The engine's theta at ``x`` (canonical: non-negative diagonals)."""
        point = self.point(x)
        return None if point is None else self.pmap.theta_of(*point)

    def theta_at(self, x: np.ndarray) -> np.ndarray:
        """As :meth:`theta`, with NaN where ``x`` is outside the parameter space."""
        theta = self.theta(x)
        return np.full(self.pmap.n_theta, np.nan) if theta is None else theta

    def held_variance(self, k: int) -> bool:
        """Whether ``psi[k, k]`` cannot move (every packed entry it depends on is held)."""
        rows, cols = np.tril_indices(self.pmap.k_re)
        if self.use_sqrt:
            entries = np.flatnonzero(rows == k)  # row k of L
        else:
            entries = np.flatnonzero((rows == k) & (cols == k))
        return not self.free[entries].any()


def fit_constrained(
    engine,
    constraint: PackedConstraint,
    reml: bool,
    optimize: bool = True,
    penalty: Callable[[np.ndarray, np.ndarray], float] | None = None,
):
    """Minimise the engine's criterion over the free packed entries.

    ``penalty(theta, psi)``, when given, is added to the criterion (-2 log-likelihood): a
    penalised fit (:mod:`._sm_penalty`).

    Returns
    -------
    LmerResult, numpy.ndarray
        The engine's result at the optimum and the free entries there.
    """

    def objective(x: np.ndarray) -> float:
        point = constraint.point(x)
        if point is None:
            return np.inf
        theta = constraint.pmap.theta_of(*point)
        value = engine.objective(theta, reml)
        return value if penalty is None else value + penalty(theta, point[0])

    x0, lower = constraint.x_start, constraint.lower
    began = time.perf_counter()
    x, evaluations, status = x0, 0, "NOT_OPTIMIZED"
    messages: tuple[str, ...] = ()
    if optimize:
        x, fmin, evaluations, status = minimize(objective, x0, lower, DEFAULT_CONTROL)
        for _ in range(_RESTARTS):  # a probe outside psi's cone can stop BOBYQA early
            x_new, f_new, used, status_new = minimize(objective, x, lower, DEFAULT_CONTROL)
            evaluations += used
            if not f_new < fmin - 1e-10 * max(1.0, abs(fmin)):
                break
            x, fmin, status = x_new, f_new, status_new
        tolerance = float(DEFAULT_CONTROL["gradient_tolerance"])
        for _ in range(_POLISH_ROUNDS):  # BOBYQA's stop, then Newton steps while they help
            _, step = check_convergence(objective, x, lower, tolerance, fmin)
            x_new, f_new, used = polish(objective, x, fmin, step, lower)
            evaluations += used
            if f_new >= fmin:
                break
            x, fmin = x_new, f_new
        messages = convergence_messages(objective, x, lower, tolerance, fmin)
    theta = constraint.theta_at(x)
    run = (evaluations, status, began, messages)
    result = result_of_search(engine, constraint.theta_at(x0), theta, reml, *run)
    return result, np.asarray(x, dtype=float)


def result_of_search(engine, initial, theta, reml: bool, evaluations, status, began, messages):
    """The engine's fit at ``theta`` with the record of the facade's own search for it.

    ``began``: the search's ``time.perf_counter()`` at its start.
    """
    summary = OptSummary(
        initial=tuple(initial),
        final=tuple(theta),
        fmin=engine.objective(theta, reml),
        evaluations=evaluations,
        optimizer=str(DEFAULT_CONTROL["optimizer"]),
        return_value=status,
        seconds=time.perf_counter() - began,
        messages=messages,
    )
    return engine.result_at(theta, reml, summary)
