"""LinearMixedModel: set up once (parse, build, compute A), then fit and refit cheaply."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from functools import cached_property, partial

import numpy as np
import pandas as pd

from mixedmodels._warn import warn
from mixedmodels.boundary import TermLayout
from mixedmodels.control import SINGULAR_TOLERANCE, Control, resolve_control
from mixedmodels.design import Design, build_design
from mixedmodels.errors import (
    ConvergenceWarning,
    DesignError,
    FittingError,
    RowDataUnavailableError,
    SingularFitWarning,
)
from mixedmodels.formula import ParsedFormula
from mixedmodels.inputs import as_pandas, check_formula_and_data
from mixedmodels.linalg import (
    BlockedFactor,
    SufficientStats,
    compute_statistics,
    evaluate_objective,
    objective_from_parts,
    profiled_objective,
    response_statistics,
    solve_at_optimum,
    tiled,
    update_factor,
)
from mixedmodels.linalg.conditioning import choose_conditioning, least_squares_shift
from mixedmodels.optimize import (
    COARSE_FTOL_ABS,
    OptSummary,
    check_convergence,
    minimize,
    polish,
)
from mixedmodels.optimum import find_optimum
from mixedmodels.options import StartMethod, choose, flag
from mixedmodels.residual_boundary import (
    GLS_FROM,
    GroupedGLS,
    RayProbe,
    newton_refine,
    reopened_start,
    scale_mask,
)
from mixedmodels.results import LmerResult
from mixedmodels.scaling import ThetaScaling, make_scaling
from mixedmodels.terms import (
    centred_columns,
    lambda_of_block,
    theta_lower_bounds,
    theta_upper_bounds,
)

__all__ = ["LinearMixedModel", "SINGULAR_TOLERANCE"]

PARALLEL_CHECK_MIN_WORK = 100_000
"""Work of one one-block evaluation (``levels * p1^3 + entries * p1^2``) from which the
convergence check's points are evaluated two at a time."""


class LinearMixedModel:
    """A linear mixed model, set up for fitting.

    Set-up parses the formula, builds the model matrices and computes the sufficient
    statistics once; :meth:`fit` and :meth:`refit` reuse them.

    Parameters
    ----------
    formula
        lme4 formula, e.g. ``"Reaction ~ Days + (Days | Subject)"``.
    data
        A pandas DataFrame with every variable of the formula.
    weights
        Prior weights: a column name or one positive value per row.
    offset
        A known term added to the linear predictor: a column name or values per row.
    contrasts
        Coding of categorical fixed-effect variables, e.g. ``{"treat": "sum"}``
        (treatment, sum, helmert, poly, diff, or a formulaic contrast expression).

    Examples
    --------
    >>> import mixedmodels as mm
    >>> model = mm.LinearMixedModel("Reaction ~ Days + (Days | Subject)",
    ...                             mm.datasets.load("sleepstudy"))
    >>> round(model.fit().reml_criterion, 4)
    1743.6283
    """

    def __init__(
        self,
        formula: str | ParsedFormula,
        data: pd.DataFrame,
        *,
        weights=None,
        offset=None,
        contrasts: dict[str, str] | None = None,
        _design: Design | None = None,
        _stats: SufficientStats | None = None,
        _scaling: ThetaScaling | None = None,
    ) -> None:
        if _design is None:
            check_formula_and_data(formula, data)
            data = as_pandas(data)
        self.design = (
            _design
            if _design is not None
            else build_design(formula, data, weights=weights, offset=offset, contrasts=contrasts)
        )
        if _stats is None:
            blocks, y = self._block_arrays(), self._working_response(self.design.y)
            conditioning = choose_conditioning(
                blocks, self.design.X, y, self.design.weights, self._centred_columns()
            )
            _stats = compute_statistics(
                blocks, self.design.X, y, self.design.weights, conditioning=conditioning
            )
        self.stats = _stats
        self.scaling: ThetaScaling = (
            _scaling
            if _scaling is not None
            else make_scaling(self.design.blocks, self.design.terms)
        )
        self.lower_bounds = theta_lower_bounds(self.design.terms)
        self.upper_bounds = theta_upper_bounds(self.design.terms)
        # for update() and all_fit(): the data and options as given (a reference, not pickled)
        self._data = data if isinstance(data, pd.DataFrame) else None
        self._options = {"weights": weights, "offset": offset, "contrasts": contrasts}

    # -- set-up helpers -------------------------------------------------------------------
    def _block_arrays(self) -> list[tuple[np.ndarray, np.ndarray, int]]:
        return [(b.codes, b.matrix, b.n_levels) for b in self.design.blocks]

    def _working_response(self, y: np.ndarray) -> np.ndarray:
        return y if self.design.offset is None else y - self.design.offset

    def _centred_columns(self) -> list[np.ndarray]:
        """Per engine block, the columns the engine may centre: those of unstructured terms."""
        return centred_columns(self.design.blocks)

    @property
    def formula(self) -> str:
        """The formula as given."""
        return self.design.formula.formula

    @property
    def n_theta(self) -> int:
        """Number of covariance parameters."""
        return self.lower_bounds.size

    @property
    def theta_names(self) -> tuple[str, ...]:
        """lme4's names of the theta entries.

        E.g. ``Subject.(Intercept)``, ``Subject.Days.(Intercept)``.
        """
        return tuple(
            f"{term.group_name}.{label}"
            for term in self.design.terms
            for label in term.covariance.theta_labels(term.columns)
        )

    # -- the objective --------------------------------------------------------------------
    def lambdas(self, theta: np.ndarray) -> list[np.ndarray]:
        """The lambda of every engine block for ``theta``."""
        theta = np.asarray(theta, dtype=float)
        return [lambda_of_block(b, theta) for b in self.design.blocks]

    def factor(self, theta: np.ndarray) -> BlockedFactor:
        """The blocked Cholesky factor at ``theta``."""
        lams = self.lambdas(theta)
        return update_factor(self.stats, lams[0], lams[1:])

    def objective(self, theta: np.ndarray, REML: bool = True) -> float:
        """REML criterion (``REML=True``) or ML deviance at ``theta``, sigma and beta profiled."""
        theta = np.asarray(theta, dtype=float)
        if theta.shape != (self.n_theta,):
            raise DesignError(f"theta must have {self.n_theta} entries, got shape {theta.shape}")
        lams = self.lambdas(theta)
        if self._grouped_gls is not None and self._beyond_gls_from(self.scaling.to_scaled(theta)):
            return self._grouped_gls(lams[0], REML)
        return evaluate_objective(self.stats, lams[0], lams[1:], REML)

    @cached_property
    def _grouped_gls(self) -> GroupedGLS | None:
        """The per-group criterion for the ray to sigma -> 0 (see
        :mod:`mixedmodels.residual_boundary`): one-factor models with a nonlinear structure,
        no weights, rows at hand and groups of at most 200 rows; None otherwise.
        """
        design = self.design
        if len(design.blocks) != 1 or not any(self._nonlinear_maps):  # cs, homcs, ar1, toep
            return None
        block = design.blocks[0]
        conditioning = self.stats.conditioning
        if conditioning is not None and conditioning.block_centres[0] is not None:
            return None  # the engine's lambdas are of centred columns; GroupedGLS reads the rows
        try:
            if design.weights is not None:
                return None
            y = self._working_response(design.y)
        except RowDataUnavailableError:  # out of core: no rows
            return None
        if np.bincount(block.codes).max() > 200:
            return None
        return GroupedGLS(block.codes, block.matrix, np.asarray(design.X), y)

    @cached_property
    def _scale_mask(self) -> np.ndarray:
        return scale_mask(self.design.terms, self.n_theta)

    def _beyond_gls_from(self, x: np.ndarray) -> bool:
        mask = self._scale_mask
        return bool(mask.any() and np.max(np.abs(x[mask])) > GLS_FROM)

    def _scaled_lambdas(self, x: np.ndarray) -> list[np.ndarray]:
        """Lambdas of the columns summed (``T lambda~(x)``) for theta ``x`` of the scaled columns.

        Not triangular, but ``lambda lambda'`` equals that of ``scaling.to_theta(x)`` (of the
        columns the statistics sum), which is all the objective depends on; so the optimiser
        needs no re-triangularisation.
        """
        out = []
        for (rows, cols, index, size, T), nonlinear in zip(
            self._block_maps, self._nonlinear_maps, strict=True
        ):
            lam = np.zeros((size, size))
            lam[rows, cols] = x[index]
            for covariance, sl, offset, k in nonlinear:
                lam[offset : offset + k, offset : offset + k] = covariance.lambda_(x[sl])
            out.append(lam if T is None else T @ lam)
        return out

    @cached_property
    def _nonlinear_maps(self) -> tuple[tuple[tuple, ...], ...]:
        """Per block: ``(covariance, theta slice, column offset, size)`` of its terms whose
        lambda is not a gather of theta (``cs``, ``ar1``, ...).
        """
        return tuple(
            tuple((t.covariance, t.theta_slice, offset, t.size) for t, offset in b.nonlinear)
            for b in self.design.blocks
        )

    @cached_property
    def _block_maps(self) -> tuple:
        return self._maps_of(self.scaling)

    def _maps_of(self, scaling: ThetaScaling) -> tuple:
        """Per engine block: lambda positions, theta index, size and column transform.

        The transform takes theta of ``scaling``'s columns to the lambda of the columns the
        statistics sum (the model's, or centred ones: :mod:`mixedmodels.linalg.conditioning`).
        """
        transforms = {
            term.theta_offset: T for term, T in zip(scaling.terms, scaling.transforms, strict=True)
        }
        maps = []
        conditioning = self.stats.conditioning
        for k, block in enumerate(self.design.blocks):
            T = np.eye(block.size)
            for term, offset in zip(block.terms, block.column_offsets, strict=True):
                T[offset : offset + term.size, offset : offset + term.size] = transforms[
                    term.theta_offset
                ]
            if conditioning is not None:  # of the columns summed: C^-1 T (see conditioning)
                T = conditioning.engine_lambda(k, T)
            maps.append(
                (
                    block.lambda_rows,
                    block.lambda_cols,
                    block.theta_index,
                    block.size,
                    None if np.array_equal(T, np.eye(block.size)) else T,
                )
            )
        return tuple(maps)

    def _scaled_objective(self, x: np.ndarray, REML: bool) -> float:
        """The objective at theta of the internally scaled columns (the optimiser's view)."""
        lams = self._scaled_lambdas(x)
        ev = self.stats._workspace.evaluate(lams[0], lams[1:], conditioned=True)
        if ev is None:
            return np.inf
        return objective_from_parts(ev.logdet_z, ev.logdet_x, ev.r2, self.stats, REML)

    def _objective_function(
        self, REML: bool, scaling: ThetaScaling | None = None
    ) -> Callable[[np.ndarray], float]:
        """:meth:`_scaled_objective` as one closure over preallocated lambdas (the hot path).

        Same arithmetic as :meth:`_scaled_objective` (so the same values to the last bit),
        without building the small matrices and looking up the workspace at every call.
        ``scaling``: theta of these columns instead of :attr:`scaling`'s.
        """
        stats = self.stats
        fills = []
        lams = []
        everything = np.arange(self.n_theta)
        same = scaling is None or scaling is self.scaling
        maps = self._block_maps if same else self._maps_of(scaling)  # type: ignore[arg-type]
        for rows, cols, index, size, T in maps:
            raw = np.zeros((size, size))
            flat = np.ravel_multi_index((rows, cols), (size, size))
            lam = raw if T is None else np.empty((size, size))
            whole = np.array_equal(index, everything)  # one block: theta in order, no gather
            fills.append((raw, raw.reshape(-1), flat, None if whole else index, T, lam))
            lams.append(lam)
        workspace = stats._workspace
        parts = workspace.route.bind(workspace, lams[0], lams[1:])  # the route: by shape
        if any(self._nonlinear_maps) and same:  # structured fits: always self.scaling
            fast = _structured_objective(fills, self._nonlinear_maps, parts, stats, REML)
            gls = self._grouped_gls
            if gls is None:
                return fast

            def along_the_ray(x: np.ndarray) -> float:  # the ray to sigma -> 0: per-group GLS
                value = fast(x)  # (infinite where the engine's factor fails: no result there)
                if np.isfinite(value) and self._beyond_gls_from(x):
                    return gls(self._scaled_lambdas(x)[0], REML)
                return value

            return along_the_ray

        def objective(x: np.ndarray) -> float:
            for raw, raw_flat, flat, index, T, lam in fills:
                raw_flat[flat] = x if index is None else x[index]
                if T is not None:
                    np.matmul(T, raw, out=lam)
            done = parts()
            if done is None:
                return np.inf
            return objective_from_parts(done[0], done[1], done[2], stats, REML)

        return objective

    def _parallel_objective(
        self, REML: bool, scaling: ThetaScaling | None = None
    ) -> Callable[[list[np.ndarray]], list[float]] | None:
        """Evaluate several points of the scaled objective at once on the tile pool, or None.

        Only where one evaluation is long and runs mostly without the GIL: the sparse route
        with CHOLMOD called directly, and one grouping factor evaluated in one compiled call
        (not already cut in level chunks) of at least :data:`PARALLEL_CHECK_MIN_WORK`. Each
        pool thread uses its own closure and the workspace's per-thread buffers, so every
        value is the one a serial call gives.
        """
        workspace = self.stats._workspace
        sparse = workspace.sparse
        gil_free_sparse = sparse is not None and sparse.releases_gil
        long_one_block = (
            workspace.fused
            and workspace.level_chunks is None
            and workspace.work >= PARALLEL_CHECK_MIN_WORK
        )
        if not (gil_free_sparse or long_one_block) or tiled.pool_size() < 2:
            return None
        local = threading.local()

        def evaluate(x: np.ndarray) -> float:
            objective = getattr(local, "objective", None)
            if objective is None:
                objective = local.objective = self._objective_function(REML, scaling)
            return objective(x)

        def parallel(points: list[np.ndarray]) -> list[float]:
            return tiled.run_tasks([partial(evaluate, x) for x in points])

        return parallel

    def start_theta(self, method: str = "moments") -> np.ndarray:
        """Starting theta of the internally scaled columns.

        ``"moments"`` (default): diagonal lambdas from a one-way ANOVA moment estimate per
        random-effect column (see :func:`mixedmodels.linalg.start.moment_start`), which costs no
        objective evaluation and starts BOBYQA close to the optimum; ``"identity"``: lme4's
        identity lambdas.
        """
        method = choose("start method", method, StartMethod, error=DesignError)
        start = np.zeros(self.n_theta)
        if method == "identity":
            lams = [np.eye(size) for _, _, _, size, _ in self._block_maps]
        elif method == "moments":
            from mixedmodels.linalg.start import moment_start

            unstructured = [
                bool(np.any(rows != cols)) and not any(t.structured for t in block.terms)
                for (rows, cols, *_), block in zip(self._block_maps, self.design.blocks)
            ]
            lams = moment_start(self.stats, [T for *_, T in self._block_maps], unstructured)
        for (rows, cols, index, _, _), lam, block in zip(
            self._block_maps, lams, self.design.blocks, strict=True
        ):
            start[index] = lam[rows, cols]
            for term, offset in zip(block.terms, block.column_offsets, strict=True):
                if term.structured:
                    sds = np.diag(lam)[offset : offset + term.size]
                    correlation = None
                    if method == "moments" and self._indicator_terms[term.theta_offset]:
                        from mixedmodels.linalg.start import cell_start

                        k = self.design.blocks.index(block)
                        columns = slice(offset, offset + term.size)
                        T = self._block_maps[k][4]
                        sds, correlation = cell_start(self.stats, k, columns, T)
                    start[term.theta_slice] = term.covariance.start(sds, correlation)
        return start

    @cached_property
    def _indicator_terms(self) -> dict[int, bool]:
        """Per structured term (by theta offset): whether its columns are 0/1 indicators with
        one 1 per row (the occasions of ``ar1(0 + time | g)``).
        """
        out = {}
        for block in self.design.blocks:
            for term, offset in zip(block.terms, block.column_offsets, strict=True):
                if not term.structured or term.size < 2 or block.matrix.shape[0] == 0:
                    continue
                cols = block.matrix[:, offset : offset + term.size]
                ones = cols == 1.0
                out[term.theta_offset] = bool(
                    np.all(ones | (cols == 0.0)) and np.all(ones.sum(axis=1) == 1)
                )
        return {t.theta_offset: out.get(t.theta_offset, False) for t in self.design.terms}

    # -- fitting --------------------------------------------------------------------------
    def fit(self, REML: bool = True, start=None, control: Control | dict | None = None):
        """Fit by REML (default) or maximum likelihood.

        Parameters
        ----------
        REML
            Optimise the REML criterion when True, the ML deviance when False.
        start
            Starting theta (lme4's parameterisation); default identity lambdas.
        control
            Optimiser settings: a :class:`~mixedmodels.control.Control`, or a dict of some of
            its fields overriding the defaults (an unknown setting is an ``ArgumentError``).

        Returns
        -------
        LmerResult
        """
        REML = flag("REML", REML)
        settings, given = resolve_control(control)
        ctl = settings.as_dict()
        near_bound = None
        if start is None:
            x0 = self.start_theta(str(ctl["start"]))
            if ctl["start"] == "moments":  # a variance the moments put at zero
                from mixedmodels.linalg.start import FLOOR

                near_bound = (x0 == FLOOR) & (self.lower_bounds == 0.0)
        else:
            start = np.asarray(start, dtype=float)
            if start.shape != (self.n_theta,):
                raise DesignError(f"start must have {self.n_theta} entries, got {start.shape}")
            x0 = self.scaling.to_scaled(start)
        lower = self.lower_bounds
        if any(t.structured for t in self.design.terms):
            return self._fit_structured(REML, ctl, given, x0, near_bound)
        scaling = self.scaling.relative_to(x0)  # a new unit where the start is far from 1
        if scaling is not self.scaling:
            x0 = scaling.to_scaled(self.scaling.to_theta(x0))

        scaled_objective = self._objective_function(REML, scaling)
        began = time.perf_counter()
        # With the convergence check, BOBYQA stops at a coarser tolerance and the check's
        # Newton step sharpens the optimum (at least as close as BOBYQA at 1e-8 on every
        # reference model, with fewer evaluations); where the check gives no step, BOBYQA
        # goes on from there with the full tolerance.
        coarse = bool(ctl["check_convergence"]) and "ftol_abs" not in given
        parallel = self._parallel_objective(REML, scaling) if ctl["check_convergence"] else None
        try:
            outcome = find_optimum(
                scaled_objective,
                x0,
                lower,
                ctl,
                coarse=coarse,
                near_bound=near_bound,
                layouts=self._term_layouts,
                other_starts=partial(self._other_starts, start, ctl, x0, scaling),
                batch=parallel,
                far=scaling.far_from_unit,
            )
        except FittingError as exc:
            self._refuse_exact_fit()
            raise exc
        if outcome.far:  # the start misjudged the variances: a unit set where BOBYQA stopped
            first = outcome
            theta_found = scaling.to_theta(outcome.x)
            scaling = scaling.relative_to(outcome.x)
            parallel = self._parallel_objective(REML, scaling) if ctl["check_convergence"] else None
            outcome = find_optimum(
                self._objective_function(REML, scaling),
                scaling.to_scaled(theta_found),
                lower,
                ctl,
                coarse=coarse,
                near_bound=None,
                layouts=self._term_layouts,
                other_starts=list,
                batch=parallel,
            )
            outcome = replace(
                outcome,
                evaluations=outcome.evaluations + first.evaluations,
                boundary_evaluations=outcome.boundary_evaluations + first.boundary_evaluations,
            )
        if parallel is not None and self.stats._workspace.sparse is not None:
            self.stats._workspace.sparse.release_other_threads()  # not needed any more
        theta = scaling.to_theta(outcome.x)
        factor = self.factor(theta)
        if factor.r2 <= 1e-20 * self._total_sum_of_squares():
            self._refuse_exact_fit()  # a vanishing residual: a fit, or no variation left
        seconds = time.perf_counter() - began
        summary = OptSummary(
            initial=tuple(scaling.to_theta(x0)),
            final=tuple(theta),
            fmin=profiled_objective(factor, self.stats, REML),
            evaluations=outcome.evaluations,
            optimizer=str(ctl["optimizer"]),
            return_value=outcome.status,
            seconds=seconds,
            messages=outcome.messages,
            check_evaluations=outcome.check_evaluations,
            boundary_evaluations=outcome.boundary_evaluations,
        )
        return self._result(theta, REML, summary, factor)

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
            if parallel is not None and self.stats._workspace.sparse is not None:
                self.stats._workspace.sparse.release_other_threads()  # not needed any more
            if along is not None:
                # at sigma -> 0 the criterion's rounding (theta in the thousands) is above what
                # the check measures: the boundary warning says so instead
                messages = ()
            if not messages:  # one Newton step from the check's derivatives: sharper optimum
                x, fmin_scaled, _ = polish(checked, x, fmin_scaled, newton, lower, upper=upper)
        theta = self.scaling.to_theta(x)
        factor = self.factor(theta)
        if factor.r2 <= 1e-20 * self._total_sum_of_squares():
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

    @cached_property
    def _term_layouts(self) -> tuple[TermLayout, ...]:
        return tuple(TermLayout.of(term) for term in self.design.terms)

    def _other_starts(
        self, start, control: dict, x0: np.ndarray, scaling: ThetaScaling
    ) -> list[np.ndarray]:
        """Start values other than ``x0``: lme4's identity and the moments (``scaling``'s theta)."""
        used = None if start is not None else str(control["start"])
        out = []
        for method in ("moments", "identity"):
            if method == used:
                continue
            candidate = self.start_theta(method)
            if scaling is not self.scaling:
                candidate = scaling.to_scaled(self.scaling.to_theta(candidate))
            if not np.array_equal(candidate, x0):
                out.append(candidate)
        return out

    def _total_sum_of_squares(self) -> float:
        """Sum of squares of the response about its mean (0 for a fit that keeps no rows)."""
        try:
            y = self.design.y
        except RowDataUnavailableError:  # out of core: the check is the source's
            return 0.0
        return float(np.sum((y - y.mean()) ** 2))

    def _refuse_exact_fit(self) -> None:
        """Raise, naming the response, when the fixed effects reproduce it exactly."""
        from mixedmodels.design import fixed_effects_fit_exactly

        if self._total_sum_of_squares() > 0.0 and fixed_effects_fit_exactly(self.design):
            response = self.design.formula.response
            raise DesignError(
                f"the response {response!r} is reproduced exactly by the fixed effects "
                f"({', '.join(self.design.fixed_names)}): there is no variation left for the "
                "random effects and the residual"
            )

    def _result(self, theta: np.ndarray, REML: bool, summary: OptSummary, factor=None):
        if factor is None:
            factor = self.factor(theta)
        lams = self.lambdas(theta)
        solution = solve_at_optimum(self.stats, factor, lams[0], lams[1:])
        if summary.residual_boundary and self._grouped_gls is not None:
            solution = self._grouped_gls.refine(solution, lams[0])
        result = LmerResult(
            model=self,
            reml=REML,
            theta=np.asarray(theta),
            factor=factor,
            solution=solution,
            optsum=summary,
        )
        for message in summary.messages:
            warn(message, ConvergenceWarning)
        if summary.residual_boundary:
            warn(
                f"boundary fit: the residual variance goes to zero (sigma = {result.sigma:.3g}):"
                " the random effects' covariance structure absorbs the residual (glmmTMB's"
                " dispformula = ~0); the criterion's limit is approached to the engine's"
                " precision; see LmerResult.is_singular",
                SingularFitWarning,
            )
        elif result.is_singular:
            warn(
                "boundary (singular) fit: a variance is zero or a correlation is +-1; "
                "see LmerResult.is_singular",
                SingularFitWarning,
            )
        return result

    def with_response(self, y) -> LinearMixedModel:
        """The same model with a new response (same rows); A's structure is reused."""
        y = np.asarray(y, dtype=float)
        if y.shape != self.design.y.shape:
            raise DesignError(f"y must have shape {self.design.y.shape}, got {y.shape}")
        if not np.isfinite(y).all():
            raise DesignError("the new response has non-finite values")
        working = self._working_response(y)
        conditioning = self.stats.conditioning
        shift = None
        if conditioning is not None:  # the same rule as the first fit's, for this response
            shift = least_squares_shift(conditioning, self.design.X, working, self.design.weights)
            conditioning = conditioning.with_shift(shift)
        ar1_y, arr_y = response_statistics(
            self._block_arrays(), self.design.X, working, self.design.weights, conditioning
        )
        return LinearMixedModel(
            self.design.formula,
            None,
            _design=replace(self.design, y=y),
            _stats=self.stats.with_response_part(ar1_y, arr_y, shift),
            _scaling=self.scaling,
        )

    def with_formula(
        self, formula: str, data, *, weights=None, offset=None, contrasts=None
    ) -> LinearMixedModel:
        """A model of the same kind of another formula or data (``update``, ``ranova``)."""
        return LinearMixedModel(formula, data, weights=weights, offset=offset, contrasts=contrasts)

    def refit(self, y, REML: bool = True, start=None, control: Control | dict | None = None):
        """Fit the same model to a new response ``y``; nothing but y-dependent sums is rebuilt."""
        return self.with_response(y).fit(REML=REML, start=start, control=control)

    def __repr__(self) -> str:
        return f"LinearMixedModel({self.formula!r}, nobs={self.design.n})"

    def __getstate__(self) -> dict:
        """Pickle the set-up only: caches (scratch buffers, block maps) are rebuilt lazily."""
        state = {k: v for k, v in self.__dict__.items() if not k.startswith("_")}
        state["stats"] = replace(self.stats)  # a copy without the cached workspace
        return state


def _structured_objective(fills, nonlinear_maps, parts, stats, REML: bool):
    """The hot-path objective of a model with structured terms: the gathered entries of
    lambda, then each structured term's own block of lambda, then ``T lambda``.
    """
    work = [
        (raw, raw_flat, flat, index, T, lam, nonlinear)
        for (raw, raw_flat, flat, index, T, lam), nonlinear in zip(
            fills, nonlinear_maps, strict=True
        )
    ]

    def objective(x: np.ndarray) -> float:
        for raw, raw_flat, flat, index, T, lam, nonlinear in work:
            raw_flat[flat] = x if index is None else x[index]
            for covariance, sl, offset, k in nonlinear:
                raw[offset : offset + k, offset : offset + k] = covariance.lambda_(x[sl])
            if T is not None:
                np.matmul(T, raw, out=lam)
        if not all(np.isfinite(lam).all() for *_, lam, _ in work):
            return np.inf
        done = parts()
        if done is None:
            return np.inf
        return objective_from_parts(done[0], done[1], done[2], stats, REML)

    return objective
