"""The whole search for the optimum over theta: BOBYQA, boundary confirmation, checks, polish.

1. BOBYQA (:func:`mixedmodels.optimize.minimize`) from the start, at a coarse tolerance when
   the convergence check follows.
2. Where it ends on a boundary, :func:`mixedmodels.boundary.confirm_boundary`: directions off
   the boundary, and restarts from the other start values; the best is kept.
3. The convergence check (:func:`mixedmodels.convergence.examine`) and one Newton step from its
   derivatives (kept inside the bounds), which sharpens the optimum.
4. When the check fails, or finds no Newton step, BOBYQA goes on at the full tolerance (from
   the lower point the check found along a direction of non-positive curvature, if it found
   one, or from the neighbour of lower rank if that is lower: see
   :func:`~mixedmodels.boundary.lower_rank_neighbours`), and the check and the Newton step
   are repeated; if that step was needed, the point it reaches is checked again.

5. A component the checks took as on its bound but that is left just inside it is put on the
   bound, and BOBYQA goes on from that face when the objective is not higher there.

No step beyond 1 and the check costs anything unless the fit ends on a boundary or the check
fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mixedmodels.boundary import (
    TermLayout,
    confirm_boundary,
    lower_rank_neighbours,
    near_a_bound,
    nearby_faces,
    nearly_singular,
    on_boundary,
)
from mixedmodels.convergence import AT_BOUND, examine, polish
from mixedmodels.optimize import COARSE_FTOL_ABS, minimize

__all__ = ["Outcome", "find_optimum", "MAX_ROUNDS"]

MAX_ROUNDS = 4
"""Runs of BOBYQA at the full tolerance after a failed check, at most."""

MODEL_MISMATCH = 1e-6
"""The Newton step's decrease of the objective may differ from the one its quadratic model
predicts by this much before BOBYQA goes on at the full tolerance (the accuracy we aim for)."""


@dataclass(frozen=True)
class Outcome:
    """Where the search ended and what it cost (evaluations by phase)."""

    x: np.ndarray
    fmin: float
    status: str
    messages: tuple[str, ...]
    evaluations: int
    check_evaluations: int
    boundary_evaluations: int
    far: bool = False


def find_optimum(
    objective: Callable[[np.ndarray], float],
    x0: np.ndarray,
    lower: np.ndarray,
    control: dict,
    *,
    coarse: bool,
    near_bound: np.ndarray | None,
    layouts: tuple[TermLayout, ...],
    other_starts: Callable[[], list[np.ndarray]],
    batch: Callable[[list[np.ndarray]], list[float]] | None = None,
    far: Callable[[np.ndarray], bool] | None = None,
) -> Outcome:
    """Minimise ``objective`` (theta of the scaled columns) from ``x0``; see the module text.

    Parameters
    ----------
    control
        Full optimiser settings (:data:`mixedmodels.optimize.DEFAULT_CONTROL` updated).
    coarse
        Stop BOBYQA first at :data:`~mixedmodels.optimize.COARSE_FTOL_ABS` (the check's
        Newton step then sharpens the optimum).
    near_bound
        Components the start puts just inside their bound (see ``minimize``).
    layouts
        Where each term's lambda sits in theta (for the boundary's canonical form).
    other_starts
        Called once, if a fit ends on a boundary: start values to restart from.
    batch
        Evaluates a list of points at once for the check (same values as one by one).
    far
        Whether the point the first search found is far from the unit of ``x`` (a variance
        ratio far above the start's); then the search stops there, before the check, with
        ``Outcome.far`` set, for the caller to go on in a unit set at that point.
    """
    first = {**control, "ftol_abs": max(COARSE_FTOL_ABS, float(control["ftol_abs"]))}
    first = first if coarse else control
    counts = {"main": 0, "check": 0, "boundary": 0}
    starts_used = [False]

    def optimise(start: np.ndarray, ctl: dict, near=None):
        x, fmin, used, status = minimize(objective, start, lower, ctl, near, probe_bounds=False)
        counts["main"] += used
        if on_boundary(x, lower):
            starts = [] if starts_used[0] else other_starts()
            starts_used[0] = True

            def restart(z: np.ndarray, arrived=None):
                return minimize(objective, z, lower, ctl, probe_bounds=False, arrived=arrived)

            x, fmin, used, found = confirm_boundary(
                objective, x, fmin, lower, layouts, restart, starts
            )
            counts["boundary"] += used
            status = found or status
        return x, fmin, status

    x, fmin, status = optimise(x0, first, near_bound)
    if far is not None and far(x):  # the caller resets the optimiser's unit and goes on
        return Outcome(
            np.asarray(x), float(fmin), status, (), counts["main"], 0, counts["boundary"], True
        )
    messages: tuple[str, ...] = ()
    if control["check_convergence"]:

        def checked(z: np.ndarray) -> float:
            counts["check"] += 1
            return objective(z)

        def counted_batch(points: list[np.ndarray]) -> list[float]:
            counts["check"] += len(points)
            return batch(points)  # type: ignore[misc]  # only passed on when batch is given

        tolerance = float(control["gradient_tolerance"])

        def check(z: np.ndarray, value: float):
            return examine(
                checked, z, lower, tolerance, value, counted_batch if batch is not None else None
            )

        found = check(x, fmin)
        off_model = False
        if found.step is not None:  # one Newton step from the check's derivatives
            before = fmin
            x, fmin, _ = polish(checked, x, fmin, found.step, lower)
            # where the step's decrease is not the one its quadratic model predicted, the
            # optimum is not reached to the accuracy that model would give
            off_model = abs((before - fmin) - found.distance**2) > MODEL_MISMATCH
        if found.descent is not None and found.descent_value < fmin:
            x, fmin = found.descent, found.descent_value

        def checked_and_polished(z: np.ndarray, value: float):
            """The check at ``z`` and the point after its Newton step (if it has one)."""
            found = check(z, value)
            if found.step is not None:
                z, value, _ = polish(checked, z, value, found.step, lower)
            return found, z, value

        def failed(found) -> bool:
            return found.descent is not None or (
                coarse and (bool(found.messages) or found.step is None or off_model)
            )

        rounds = 0
        while failed(found) and rounds < MAX_ROUNDS:
            # the check failed: BOBYQA goes on at the full tolerance from the best point (a
            # fresh trust region; it can stall creeping along a curved valley)
            rounds += 1
            before = fmin
            for point in lower_rank_neighbours(x, layouts):  # where BOBYQA may be creeping to
                value = checked(point)
                if value < fmin:
                    x, fmin = point, value
            x, fmin, status = optimise(x, control)
            found = check(x, fmin)
            if found.step is not None:
                polished, value, _ = polish(checked, x, fmin, found.step, lower)
                if found.messages and value < fmin:
                    found = check(polished, value)  # did the step reach the optimum?
                x, fmin = polished, value
            if found.descent is not None and found.descent_value < fmin:
                x, fmin = found.descent, found.descent_value
            off_model = False
            if not fmin < before - 1e-10 * max(1.0, abs(before)):
                break  # no progress: the check's message stands
        close = found.standard_errors is not None and near_a_bound(x, lower, found.standard_errors)
        if close:  # a lower optimum on a nearby bound?
            faces = nearby_faces(x, lower, found.standard_errors, layouts)
            best, best_value = None, fmin
            for point in faces:
                value = checked(point)
                if value < best_value:
                    best, best_value = point, value
            starts = []
            if not starts_used[0] and nearly_singular(x, lower, found.standard_errors, layouts):
                starts = other_starts()  # as for a fit on the boundary
                starts_used[0] = True
            for start in starts:
                point, value, used, _ = minimize(
                    objective, start, lower, first, probe_bounds=False, arrived=(x, fmin)
                )
                counts["boundary"] += used
                if value < best_value:
                    best, best_value = point, value
            if best is not None:
                x, fmin, status = optimise(best, control)
                found, x, fmin = checked_and_polished(x, fmin)
        # a component the checks took as on its bound (within AT_BOUND) but left just inside:
        # on the bound the others may move further (BOBYQA from the face; kept if lower)
        inside = np.isfinite(lower) & (x > lower) & (x - lower < AT_BOUND)
        if inside.any():
            face = np.where(inside, lower, x)
            value = checked(face)
            if value <= fmin:
                x, fmin = face, value
                moved, moved_value, moved_status = optimise(face, control)
                if moved_value < fmin:
                    x, fmin, status = moved, moved_value, moved_status
                found, x, fmin = checked_and_polished(x, fmin)
        messages = found.messages
    return Outcome(
        x=np.asarray(x),
        fmin=float(fmin),
        status=status,
        messages=messages,
        evaluations=counts["main"],
        check_evaluations=counts["check"],
        boundary_evaluations=counts["boundary"],
    )
