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
from mixedmodels.optimize import (
    COARSE_FTOL_ABS,
    OptSummary,
    check_convergence,
    minimize,
    polish,
)
from mixedmodels.options import StartMethod, choose
from mixedmodels.results import LmerResult
from mixedmodels.scaling import ThetaScaling, make_scaling
from mixedmodels.terms import lambda_of_block, theta_lower_bounds

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
        self.stats = (
            _stats
            if _stats is not None
            else compute_statistics(
                self._block_arrays(),
                self.design.X,
                self._working_response(self.design.y),
                self.design.weights,
            )
        )
        self.scaling: ThetaScaling = (
            _scaling
            if _scaling is not None
            else make_scaling(self.design.blocks, self.design.terms)
        )
        self.lower_bounds = theta_lower_bounds(self.design.terms)
        # for update() and all_fit(): the data and options as given (a reference, not pickled)
        self._data = data if isinstance(data, pd.DataFrame) else None
        self._options = {"weights": weights, "offset": offset, "contrasts": contrasts}

    # -- set-up helpers -------------------------------------------------------------------
    def _block_arrays(self) -> list[tuple[np.ndarray, np.ndarray, int]]:
        return [(b.codes, b.matrix, b.n_levels) for b in self.design.blocks]

    def _working_response(self, y: np.ndarray) -> np.ndarray:
        return y if self.design.offset is None else y - self.design.offset

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
        names = []
        for term in self.design.terms:
            rows, cols = term.theta_positions()
            for r, c in zip(rows, cols, strict=True):
                if r == c:
                    names.append(f"{term.group_name}.{term.columns[r]}")
                else:
                    names.append(f"{term.group_name}.{term.columns[r]}.{term.columns[c]}")
        return tuple(names)

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
        return evaluate_objective(self.stats, lams[0], lams[1:], REML)

    def _scaled_lambdas(self, x: np.ndarray) -> list[np.ndarray]:
        """Block lambdas ``T lambda~(x)`` for theta ``x`` of the internally scaled columns.

        Not triangular, but ``lambda lambda'`` equals that of ``scaling.to_theta(x)``, which is
        all the objective depends on; so the optimiser needs no re-triangularisation.
        """
        out = []
        for rows, cols, index, size, T in self._block_maps:
            lam = np.zeros((size, size))
            lam[rows, cols] = x[index]
            out.append(lam if T is None else T @ lam)
        return out

    @cached_property
    def _block_maps(self) -> tuple:
        scaling = self.scaling
        transforms = {
            term.theta_offset: T for term, T in zip(scaling.terms, scaling.transforms, strict=True)
        }
        maps = []
        for block in self.design.blocks:
            T = np.eye(block.size)
            for term, offset in zip(block.terms, block.column_offsets, strict=True):
                T[offset : offset + term.size, offset : offset + term.size] = transforms[
                    term.theta_offset
                ]
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
        return evaluate_objective(self.stats, lams[0], lams[1:], REML)

    def _objective_function(self, REML: bool) -> Callable[[np.ndarray], float]:
        """:meth:`_scaled_objective` as one closure over preallocated lambdas (the hot path).

        Same arithmetic as :meth:`_scaled_objective` (so the same values to the last bit),
        without building the small matrices and looking up the workspace at every call.
        """
        stats = self.stats
        fills = []
        lams = []
        everything = np.arange(self.n_theta)
        for rows, cols, index, size, T in self._block_maps:
            raw = np.zeros((size, size))
            flat = np.ravel_multi_index((rows, cols), (size, size))
            lam = raw if T is None else np.empty((size, size))
            whole = np.array_equal(index, everything)  # one block: theta in order, no gather
            fills.append((raw, raw.reshape(-1), flat, None if whole else index, T, lam))
            lams.append(lam)
        workspace = stats._workspace
        parts = workspace.route.bind(workspace, lams[0], lams[1:])  # the route: by shape

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

    def _parallel_objective(self, REML: bool) -> Callable[[list[np.ndarray]], list[float]] | None:
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
                objective = local.objective = self._objective_function(REML)
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

            unstructured = [bool(np.any(rows != cols)) for rows, cols, *_ in self._block_maps]
            lams = moment_start(self.stats, [T for *_, T in self._block_maps], unstructured)
        for (rows, cols, index, _, _), lam in zip(self._block_maps, lams, strict=True):
            start[index] = lam[rows, cols]
        return start

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
                scaled_objective, x0, lower, first, near_bound
            )
        except FittingError as exc:
            self._refuse_exact_fit()
            raise exc
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
            messages, newton = check_convergence(
                checked, x, lower, tolerance, fmin=fmin_scaled, batch=batch
            )
            if coarse and (messages or newton is None):
                x, fmin_scaled, more, status = minimize(scaled_objective, x, lower, ctl)
                evaluations += more
                messages, newton = check_convergence(
                    checked, x, lower, tolerance, fmin=fmin_scaled, batch=batch
                )
            if parallel is not None and self.stats._workspace.sparse is not None:
                self.stats._workspace.sparse.release_other_threads()  # not needed any more
            if not messages:  # one Newton step from the check's derivatives: sharper optimum
                x, fmin_scaled, _ = polish(checked, x, fmin_scaled, newton, lower)
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
        )
        return self._result(theta, REML, summary, factor)

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
        if result.is_singular:
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
        ar1_y, arr_y = response_statistics(
            self._block_arrays(), self.design.X, self._working_response(y), self.design.weights
        )
        return LinearMixedModel(
            self.design.formula,
            None,
            _design=replace(self.design, y=y),
            _stats=self.stats.with_response_part(ar1_y, arr_y),
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
