"""The fit of a linear mixed model with structured covariance terms (``cs``, ``ar1``, ...).

:class:`StructuredFit` is the part of :class:`~mixedmodels.model.LinearMixedModel` that fits
models whose lambda is a nonlinear function of theta: BOBYQA within the correlation
parameters' bounds, the ray to sigma -> 0 (:mod:`mixedmodels.residual_boundary`), a Newton
refinement and one restart at a saddle.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from mixedmodels.convergence import check_convergence, polish
from mixedmodels.errors import (
    FittingError,
)
from mixedmodels.linalg import (
    BlockedFactor,
    profiled_objective,
)
from mixedmodels.model_start import StartingValues
from mixedmodels.optimize import COARSE_FTOL_ABS, OptSummary, minimize
from mixedmodels.residual_boundary import (
    RayProbe,
    newton_refine,
    reopened_start,
)
from mixedmodels.results import LmerResult


class StructuredFit(StartingValues):
    """The fit of models with structured terms (mixed into LinearMixedModel)."""

    lower_bounds: np.ndarray
    upper_bounds: np.ndarray

    if TYPE_CHECKING:  # defined by the model class

        @property
        def _total_sum_of_squares(self) -> float:
            """Sum of squares of the response about its mean."""

        def factor(self, theta: np.ndarray) -> BlockedFactor:
            """The blocked Cholesky factor at ``theta``."""

        def _refuse_exact_fit(self) -> None:
            """Raise when the fixed effects reproduce the response exactly."""

        def _result(self, theta, REML, summary, factor=None) -> LmerResult:
            """The fitted-model object."""

    def _fit_structured(
        self, REML: bool, ctl: dict, given, x0: np.ndarray, near_bound: np.ndarray | None
    ):
        """:meth:`fit` of a model with structured terms (``cs``, ``ar1``, ...).

        BOBYQA within the correlation parameters' upper bounds, lme4's relative-gradient check
        with those bounds, the ray to sigma -> 0 (:mod:`mixedmodels.residual_boundary`), a
        Newton refinement before a BOBYQA crawl and one restart from the start's standard
        deviations at a saddle; theta of :attr:`scaling`'s columns throughout (structured
        terms are never centred, and the per-group criterion reads the model's rows).
        """
        lower = self.lower_bounds
        upper = self.upper_bounds if np.isfinite(self.upper_bounds).any() else None

        scaled_objective = self._objective_function(REML)
        began = time.perf_counter()
        # With the convergence check, BOBYQA stops at a coarser tolerance and the check's
        # Newton step sharpens the optimum (at least as close as BOBYQA at 1e-8 on every
        # reference model, with fewer evaluations); where the check gives no step, BOBYQA
        # goes on from there with the full tolerance.
        coarse = bool(ctl["check_convergence"]) and "ftol_abs" not in given
        first = {**ctl, "ftol_abs": max(COARSE_FTOL_ABS, float(ctl["ftol_abs"]))} if coarse else ctl
        try:
            x, fmin_scaled, evaluations, status = minimize(
                scaled_objective, x0, lower, first, near_bound, upper=upper
            )
        except FittingError as exc:
            self._refuse_exact_fit()
            raise exc
        ray = None  # the ray to sigma -> 0 (structured terms only)
        if any(t.structured for t in self.design.terms):

            def restart(point: np.ndarray):
                return minimize(scaled_objective, point, lower, first, upper=upper)

            ray = RayProbe(self.design.terms, self.n_theta, scaled_objective, restart)
            x, fmin_scaled, more, moved = ray(x, fmin_scaled)
            evaluations += more
            status = moved or status
        along = None if ray is None else ray.along(x)  # left out of the check, as a bound
        messages: tuple[str, ...] = ()
        checks = [0]
        if ctl["check_convergence"]:

            def checked(x: np.ndarray) -> float:
                checks[0] += 1
                return scaled_objective(x)

            parallel = self._parallel_objective(REML)
            batch = None
            if parallel is not None:

                def batch(points: list[np.ndarray]) -> list[float]:
                    checks[0] += len(points)
                    return parallel(points)

            tolerance = float(ctl["gradient_tolerance"])

            def check(point: np.ndarray, value: float, along=None):
                return check_convergence(
                    checked,
                    point,
                    lower,
                    tolerance,
                    fmin=value,
                    batch=batch,
                    upper=upper,
                    along=along,
                )

            messages, newton = check(x, fmin_scaled, along)
            if ray is not None and messages and along is None:  # Newton before a BOBYQA crawl
                x, fmin_scaled, messages, newton = newton_refine(
                    checked, x, fmin_scaled, check, lower, upper
                )
            if coarse and (messages or newton is None):
                x, fmin_scaled, more, status = minimize(
                    scaled_objective, x, lower, ctl, upper=upper
                )
                evaluations += more
                if ray is not None:
                    x, fmin_scaled, more, moved = ray(x, fmin_scaled)
                    evaluations += more
                    status = moved or status
                    along = ray.along(x)
                messages, newton = check(x, fmin_scaled, along)
                if ray is not None and messages and along is None:
                    x, fmin_scaled, messages, newton = newton_refine(
                        checked, x, fmin_scaled, check, lower, upper
                    )
            point = None if ray is None or not messages else reopened_start(x, x0, ray.mask)
            # a saddle: once more from the start's SDs
            if point is not None and ray is not None and along is None:
                y, fy, more, y_status = minimize(scaled_objective, point, lower, ctl, upper=upper)
                evaluations += more
                if fy < fmin_scaled:
                    y, fy, more, moved = ray(y, fy)
                    evaluations += more
                    x, fmin_scaled, status, along = y, fy, moved or y_status, ray.along(y)
                    messages, newton = check(x, fmin_scaled, along)
                    if messages and along is None:
                        x, fmin_scaled, messages, newton = newton_refine(
                            checked, x, fmin_scaled, check, lower, upper
                        )
            if parallel is not None and self.workspace.sparse is not None:
                self.workspace.sparse.release_other_threads()  # not needed any more
            if along is not None:
                # at sigma -> 0 the criterion's rounding (theta in the thousands) is above what
                # the check measures: the boundary warning says so instead
                messages = ()
            if not messages:  # one Newton step from the check's derivatives: sharper optimum
                x, fmin_scaled, _ = polish(checked, x, fmin_scaled, newton, lower, upper=upper)
        theta = self.scaling.to_theta(x)
        factor = self.factor(theta)
        if factor.r2 <= 1e-20 * self._total_sum_of_squares:
            self._refuse_exact_fit()  # a vanishing residual: a fit, or no variation left
        seconds = time.perf_counter() - began
        summary = OptSummary(
            initial=tuple(self.scaling.to_theta(x0)),
            final=tuple(theta),
            fmin=profiled_objective(factor, self.stats, REML),
            evaluations=evaluations,
            optimizer=str(ctl["optimizer"]),
            return_value=status,
            seconds=seconds,
            messages=messages,
            check_evaluations=checks[0],
            residual_boundary=along is not None,
        )
        return self._result(theta, REML, summary, factor)
