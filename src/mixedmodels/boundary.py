"""Confirming an optimum that ends on the boundary of the covariance parameters.

A term's relative covariance is ``lambda lambda'`` with lambda lower triangular and a
non-negative diagonal. Where a diagonal entry is zero that factor is not unique: the column
below the zero may hold any part of the remaining variance. In such a representation a small
step off the bound (the diagonal made positive) also creates a correlation of +-1 with the
column's other entries, which may raise the objective although a variance added *alone* would
lower it; BOBYQA then stops at a false boundary point (statsmodels' lme08 data: REML 758.25
where the optimum is 735.53).

So a boundary point is confirmed in three steps:

1. :func:`canonical_factor` re-expresses every term's lambda so that a column with a zero
   diagonal is zero (the same ``lambda lambda'``, so the same objective).
2. For a term whose column ``j`` is zero the objective changes, to second order, by
   ``c' G c`` when ``c`` becomes that column (``Sigma + c c'``, ``G`` the derivative of the
   objective in ``Sigma``). :func:`descent_directions` estimates ``G`` on the rows from ``j``
   on with a few evaluations and returns the eigenvector of its most negative eigenvalue: the
   direction off the boundary that matters.
3. If the objective falls along it, the optimiser restarts from the best point found; the
   caller also restarts from other start values and keeps the best fit.

Nothing here runs unless a fit ends on a boundary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mixedmodels.terms import ReTerm

__all__ = ["TermLayout", "canonical_factor", "canonical_theta", "descent_directions", "Probe"]

ZERO_DIAGONAL = 1e-4
"""A diagonal entry of lambda (of the internally scaled columns) at or below this is zero:
the convergence check leaves such components out (its differences would cross the bound),
so the boundary's own confirmation must look at them."""

PROBE_SIZE = 1e-2
"""Length of the columns tried off the boundary when estimating ``G`` (scaled columns)."""


@dataclass(frozen=True)
class TermLayout:
    """Where one term's lambda sits in theta: its lower-triangle positions and theta slice."""

    rows: np.ndarray
    cols: np.ndarray
    start: int
    size: int

    @classmethod
    def of(cls, term: ReTerm) -> TermLayout:
        """The layout of an lme4 term (theta entries column by column)."""
        rows, cols = term.theta_positions()
        return cls(rows=rows, cols=cols, start=term.theta_offset, size=term.size)

    @property
    def stop(self) -> int:
        """End of the term's slice of theta."""
        return self.start + self.rows.size

    def lam(self, x: np.ndarray) -> np.ndarray:
        """The term's lambda from theta ``x``."""
        out = np.zeros((self.size, self.size))
        out[self.rows, self.cols] = x[self.start : self.stop]
        return out

    def put(self, x: np.ndarray, lam: np.ndarray) -> None:
        """Write the lower triangle of ``lam`` into ``x`` (in place)."""
        x[self.start : self.stop] = lam[self.rows, self.cols]


def canonical_factor(lam: np.ndarray, zero: float = ZERO_DIAGONAL) -> np.ndarray:
    """A lower-triangular factor of ``lam lam'`` in which a column with a zero diagonal is zero.

    Columns are taken left to right; where the diagonal entry is at most ``zero`` it is set to
    zero and the entries below it are merged into the later columns by re-triangularising the
    rows below (a QR decomposition), which keeps ``lam lam'`` except for the dropped diagonal.
    """
    out = np.array(lam, dtype=float)
    size = out.shape[0]
    for j in range(size):
        if out[j, j] > zero:
            continue
        out[j, j] = 0.0
        below = out[j + 1 :, j:]  # rows under the zero: its column and the later columns
        if below.shape[0] == 0 or not np.any(below[:, 0]):
            continue
        r = np.asarray(np.linalg.qr(below.T, mode="r"))  # below below' = r' r, r upper triangular
        lower = r.T
        lower *= np.where(np.diag(lower) < 0, -1.0, 1.0)[None, :]
        out[j + 1 :, j] = 0.0
        out[j + 1 :, j + 1 :] = lower
    return out


def canonical_theta(x: np.ndarray, layouts: tuple[TermLayout, ...]) -> np.ndarray:
    """``x`` with every term's lambda in canonical form (:func:`canonical_factor`)."""
    out = np.array(x, dtype=float)
    for layout in layouts:
        if layout.size > 1:
            layout.put(out, canonical_factor(layout.lam(out)))
        elif out[layout.start] <= ZERO_DIAGONAL:
            out[layout.start] = 0.0
    return out


@dataclass(frozen=True)
class Probe:
    """A direction off the boundary for one term: column ``column`` of its lambda := ``t v``.

    ``curvature`` is the estimated ``v' G v`` (negative: the objective falls along it).
    """

    layout: TermLayout
    column: int
    vector: np.ndarray
    curvature: float

    def apply(self, x: np.ndarray, length: float) -> np.ndarray:
        """``x`` with the probed column set to ``length * vector``."""
        lam = self.layout.lam(x)
        lam[self.column :, self.column] = length * self.vector
        out = np.array(x, dtype=float)
        self.layout.put(out, lam)
        return out


def _first_zero_column(lam: np.ndarray) -> int | None:
    for j in range(lam.shape[0]):
        if lam[j, j] == 0.0:
            return j
    return None


def descent_directions(
    objective: Callable[[np.ndarray], float],
    x: np.ndarray,
    f0: float,
    layouts: tuple[TermLayout, ...],
    noise: float,
) -> tuple[list[Probe], int]:
    """For every term with a zero column in canonical ``x``: the steepest way off the bound.

    ``G`` (the objective's derivative in the term's ``Sigma``) is estimated on the rows from
    the first zero column ``j`` on from ``f(x + c c')`` at ``c = d e_a`` and
    ``c = d (e_a + e_b)`` (``d`` = :data:`PROBE_SIZE`): ``r (r + 1) / 2`` evaluations for
    ``r`` rows. A term is returned when the smallest eigenvalue of ``G`` lowers the objective
    by more than ``noise`` at that length.

    Returns
    -------
    probes, evaluations
    """
    probes = []
    used = 0
    d = PROBE_SIZE
    for layout in layouts:
        lam = layout.lam(x)
        j = _first_zero_column(lam)
        if j is None:
            continue
        r = layout.size - j
        base = Probe(layout, j, np.zeros(r), 0.0)  # where the column goes; no vector yet
        change = np.empty((r, r))
        for a in range(r):
            e = np.zeros(r)
            e[a] = 1.0
            change[a, a] = objective(_with(base, x, d * e)) - f0
            used += 1
        G = np.diag(np.diag(change)) / d**2
        for a in range(r):
            for b in range(a):
                e = np.zeros(r)
                e[a] = e[b] = 1.0
                both = objective(_with(base, x, d * e)) - f0
                used += 1
                G[a, b] = G[b, a] = (both - change[a, a] - change[b, b]) / (2.0 * d**2)
        smallest, vector = _smallest_eigenpair(G)
        if vector[0] < 0:
            vector = -vector
        if smallest * d**2 < -noise:
            probes.append(Probe(layout, j, vector, smallest))
    return probes, used


def _smallest_eigenpair(G: np.ndarray) -> tuple[float, np.ndarray]:
    """The smallest eigenvalue of the symmetric ``G`` and its eigenvector (1 x 1: itself)."""
    if G.shape[0] == 1:  # a scalar term: what LAPACK returns, without its wrappers
        return float(G[0, 0]), np.ones(1)
    values, vectors = np.linalg.eigh(G)
    return float(values[0]), vectors[:, 0]


def _with(probe: Probe, x: np.ndarray, column: np.ndarray) -> np.ndarray:
    lam = probe.layout.lam(x)
    lam[probe.column :, probe.column] = column
    out = np.array(x, dtype=float)
    probe.layout.put(out, lam)
    return out


def line_search(
    objective: Callable[[np.ndarray], float], x: np.ndarray, f0: float, probe: Probe, noise: float
) -> tuple[np.ndarray, float, int]:
    """Lengthen the probed column (doubling from :data:`PROBE_SIZE`) while the objective falls.

    Returns the best point, its objective (``x`` and ``f0`` when nothing is lower by more than
    ``noise``) and the evaluations used.
    """
    best_x, best_f = x, f0
    length, used = PROBE_SIZE, 0
    while length <= 1e3:
        trial = probe.apply(x, length)
        value = objective(trial)
        used += 1
        if not value < best_f - noise:
            break
        best_x, best_f = trial, value
        length *= 2.0
    return best_x, best_f, used


def leave_boundary(
    objective: Callable[[np.ndarray], float],
    x: np.ndarray,
    fmin: float,
    layouts: tuple[TermLayout, ...],
) -> tuple[np.ndarray, float, int]:
    """A point off the boundary with a lower objective than ``x``, or ``x`` itself.

    ``x`` is put in canonical form, the descent directions are estimated and each is followed
    by a line search; the directions of all terms are then combined when that is better still.

    Returns
    -------
    point, objective, evaluations
    """
    noise = 1e-10 * max(1.0, abs(fmin))
    canon = canonical_theta(x, layouts)
    used = 0
    f0 = fmin
    if not np.array_equal(canon, x):  # the same covariance but for diagonals <= the zero
        f0 = objective(canon)
        used += 1
        if not np.isfinite(f0):
            return x, fmin, used
    probes, more = descent_directions(objective, canon, f0, layouts, noise)
    used += more
    best_x, best_f = (canon, f0) if f0 < fmin else (x, fmin)
    combined = np.array(canon)
    for probe in probes:  # one probe per term: each changes only its own term's entries
        point, value, more = line_search(objective, canon, f0, probe, noise)
        used += more
        if value < best_f:
            best_x, best_f = point, value
        probe.layout.put(combined, probe.layout.lam(point))
    if len(probes) > 1:
        value = objective(combined)
        used += 1
        if value < best_f:
            best_x, best_f = combined, value
    return best_x, float(best_f), used


def on_boundary(x: np.ndarray, lower: np.ndarray) -> bool:
    """Whether a bounded component of ``x`` is (within :data:`ZERO_DIAGONAL`) on its bound."""
    bounded = np.isfinite(lower)
    return bool(np.any(x[bounded] - lower[bounded] <= ZERO_DIAGONAL))


def confirm_boundary(
    objective: Callable[[np.ndarray], float],
    x: np.ndarray,
    fmin: float,
    lower: np.ndarray,
    layouts: tuple[TermLayout, ...],
    optimise: Callable[..., tuple[np.ndarray, float, int, str]],
    starts: list[np.ndarray],
) -> tuple[np.ndarray, float, int, str | None]:
    """The best optimum found from a boundary point ``x``: off it, and from other starts.

    ``optimise(x0, arrived=None)`` runs the optimiser from ``x0`` and returns ``(x, fmin,
    evaluations, status)``; with ``arrived = (point, value)`` it may stop once it is back at
    ``point`` with no lower objective (see :func:`mixedmodels.optimize.minimize`).

    First :func:`leave_boundary` looks for a lower point along the directions that matter, and
    the optimiser restarts from it when there is one; then the optimiser runs from every point
    of ``starts`` (stopping where it comes back to the best point); a result that again ends
    on a boundary is probed once more.

    Returns
    -------
    x, fmin, evaluations, status
        ``status`` is the optimiser's return value of the run that gave ``x``, None when that
        is the given point.
    """
    best_x, best_f = np.asarray(x, dtype=float), float(fmin)
    status: str | None = None
    used = 0
    probed: list[np.ndarray] = []

    def from_boundary(point: np.ndarray, value: float) -> None:
        nonlocal best_x, best_f, status, used
        probed.append(point)
        off, lower_value, more = leave_boundary(objective, point, value, layouts)
        used += more
        if lower_value < value:
            found_status: str | None
            found, found_f, more, found_status = optimise(off)
            used += more
            if found_f > lower_value:
                found, found_f, found_status = off, lower_value, status
            if found_f < best_f:
                best_x, best_f, status = found, found_f, found_status

    from_boundary(best_x, best_f)
    for start in starts:
        found, found_f, more, found_status = optimise(start, (best_x, best_f))
        used += more
        if found_f < best_f:
            best_x, best_f, status = found, found_f, found_status
    if on_boundary(best_x, lower) and not any(np.array_equal(best_x, p) for p in probed):
        from_boundary(best_x, best_f)
    return best_x, best_f, used, status


def lower_rank_neighbours(x: np.ndarray, layouts: tuple[TermLayout, ...]) -> list[np.ndarray]:
    """Per term of two or more columns: ``x`` with that term's smallest variance direction gone.

    ``lambda lambda' - mu v v'`` (``mu, v`` the smallest eigenpair of ``lambda lambda'`` with
    ``mu > 0``) in canonical form. Where an optimum lies on the boundary with a whole column
    zero, the objective is flat towards it (of fourth order along the column's length) and
    BOBYQA creeps; the neighbour of lower rank is the point it is creeping to.
    """
    out = []
    for layout in layouts:
        if layout.size < 2:
            continue
        lam = layout.lam(x)
        values, vectors = np.linalg.eigh(lam @ lam.T)
        positive = np.flatnonzero(values > 1e-12 * max(float(values[-1]), 1e-300))
        if positive.size < 2:  # rank 1 or 0 already: nothing of lower rank but zero
            continue
        kept = positive[1:]  # without the smallest positive variance
        factor = vectors[:, kept] * np.sqrt(values[kept])[None, :]
        r = np.asarray(np.linalg.qr(factor.T, mode="r"))  # factor factor' = r' r
        lower = np.zeros((layout.size, layout.size))
        lower[:, : r.shape[0]] = r.T
        lower *= np.where(np.diag(lower) < 0, -1.0, 1.0)[None, :]
        point = np.array(x, dtype=float)
        layout.put(point, canonical_factor(lower))
        out.append(point)
    return out


FACE_DISTANCE = 2.0
"""A bounded component this many standard errors or fewer from its bound has its bound tried."""


def near_a_bound(x: np.ndarray, lower: np.ndarray, errors: np.ndarray) -> bool:
    """Whether a bounded component of ``x`` is within :data:`FACE_DISTANCE` SEs of its bound.

    ``errors`` are the standard errors. The test :func:`nearby_faces` and
    :func:`nearly_singular` make per component, in one pass (when it is False, neither has
    anything to try).
    """
    return bool(np.any(_close_to_bound(x, lower, errors)))


def _close_to_bound(x: np.ndarray, lower: np.ndarray, errors: np.ndarray) -> np.ndarray:
    """Per component: bounded, with a finite error, and within :data:`FACE_DISTANCE` of it."""
    bounded = np.isfinite(lower) & np.isfinite(errors)
    return bounded & (x - lower <= FACE_DISTANCE * errors)


def nearby_faces(
    x: np.ndarray, lower: np.ndarray, errors: np.ndarray, layouts: tuple[TermLayout, ...]
) -> list[np.ndarray]:
    """Points on the boundary next to an interior optimum ``x``, one per close component.

    A variance whose estimate is within :data:`FACE_DISTANCE` standard errors (``errors``)
    of zero may have its optimum on zero too, lower than the interior one (the profile in
    that variance is then bimodal: a local minimum inside, the lower one on the bound).
    Each such component is set on its bound, in canonical form.
    """
    out = []
    for i in np.flatnonzero(_close_to_bound(x, lower, errors)):
        if x[i] - lower[i] <= ZERO_DIAGONAL:
            continue
        point = np.array(x, dtype=float)
        point[i] = lower[i]
        out.append(canonical_theta(point, layouts))
    return out


def nearly_singular(
    x: np.ndarray, lower: np.ndarray, errors: np.ndarray, layouts: tuple[TermLayout, ...]
) -> bool:
    """Whether a term of two or more columns has a lambda diagonal entry near zero.

    Near: within :data:`FACE_DISTANCE` standard errors. A covariance matrix close to
    singular, whose optimum may lie on the boundary or, as for one on it, elsewhere.
    """
    close = _close_to_bound(x, lower, errors)
    return any(close[t.start : t.stop].any() for t in layouts if t.size >= 2)
