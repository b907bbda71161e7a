"""LinearMixedModel: set up once (parse, build, compute A), then fit and refit cheaply."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import replace
from functools import cached_property, partial
from typing import Any

import numpy as np
import pandas as pd

from mixedmodels._warn import warn
from mixedmodels.aliasing import fixed_effects_fit_exactly
from mixedmodels.boundary import TermLayout
from mixedmodels.control import MODEL_CHECKS, SINGULAR_TOLERANCE, Control, resolve_control
from mixedmodels.design import Design, build_design
from mixedmodels.design_spec import RowChunk
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
    Workspace,
    compute_statistics,
    evaluate_objective,
    profiled_objective,
    response_statistics,
    solve_at_optimum,
    update_factor,
)
from mixedmodels.linalg.conditioning import choose_conditioning, least_squares_shift
from mixedmodels.model_structured import StructuredFit
from mixedmodels.optimize import OptSummary
from mixedmodels.optimum import find_optimum
from mixedmodels.options import flag
from mixedmodels.results import LmerResult
from mixedmodels.scaling import ThetaScaling, make_scaling
from mixedmodels.terms import (
    centred_columns,
    lambda_of_block,
    theta_lower_bounds,
    theta_upper_bounds,
)

__all__ = ["LinearMixedModel", "SINGULAR_TOLERANCE"]


class LinearMixedModel(StructuredFit):
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
    control
        A :class:`~mixedmodels.control.Control` or a dict of its settings; only its model
        checks apply here (``check_nobs_vs_nre``), the optimiser's settings are :meth:`fit`'s.

    Attributes
    ----------
    frame
        The data frame given (a reference, not a copy), read by ``update``, ``ranova`` and
        the plots; None when none was given or after pickling.

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
        control: Control | Mapping[str, Any] | None = None,
        _design: Design | None = None,
        _stats: SufficientStats | None = None,
        _scaling: ThetaScaling | None = None,
        _workspace: Workspace | None = None,
    ) -> None:
        if _design is None:
            check_formula_and_data(formula, data)
            data = as_pandas(data)
        checks = {name: getattr(resolve_control(control)[0], name) for name in MODEL_CHECKS}
        self.design = (
            _design
            if _design is not None
            else build_design(
                formula, data, weights=weights, offset=offset, contrasts=contrasts, **checks
            )
        )
        self._checks = checks  # the model checks, for with_formula (update, ranova)
        if _stats is None:
            blocks, y = self._block_arrays(), self._working_response(self.design.y)
            conditioning = choose_conditioning(
                blocks, self.design.X, y, self.design.weights, self._centred_columns()
            )
            _stats = compute_statistics(
                blocks, self.design.X, y, self.design.weights, conditioning=conditioning
            )
        self.stats = _stats
        if _workspace is not None:  # a refit's: the pattern of the model it came from
            self.__dict__["workspace"] = _workspace
        self.scaling: ThetaScaling = (
            _scaling
            if _scaling is not None
            else make_scaling(self.design.blocks, self.design.terms)
        )
        self.lower_bounds = theta_lower_bounds(self.design.terms)
        self.upper_bounds = theta_upper_bounds(self.design.terms)
        # for update() and all_fit(): the data and options as given (a reference, not pickled)
        self.frame: pd.DataFrame | None = data if isinstance(data, pd.DataFrame) else None
        self._options = {"weights": weights, "offset": offset, "contrasts": contrasts}

    # -- set-up helpers -------------------------------------------------------------------
    def _block_arrays(self) -> list[tuple[np.ndarray, np.ndarray, int]]:
        return [(b.codes, b.matrix, b.n_levels) for b in self.design.blocks]

    def row_chunks(self) -> Iterator[RowChunk]:
        """The rows of the fit in engine form, in data order: here one chunk, the design's."""
        yield self.design.row_chunk()

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
    @cached_property
    def workspace(self) -> Workspace:
        """The engine built from the sufficient statistics (lazy): structure and scratch space."""
        return Workspace(self.stats)

    def lambdas(self, theta: np.ndarray) -> list[np.ndarray]:
        """The lambda of every engine block for ``theta``."""
        theta = np.asarray(theta, dtype=float)
        return [lambda_of_block(b, theta) for b in self.design.blocks]

    def factor(self, theta: np.ndarray) -> BlockedFactor:
        """The blocked Cholesky factor at ``theta``."""
        lams = self.lambdas(theta)
        return update_factor(self.workspace, lams[0], lams[1:])

    def objective(self, theta: np.ndarray, REML: bool = True) -> float:
        """REML criterion (``REML=True``) or ML deviance at ``theta``, sigma and beta profiled."""
        theta = np.asarray(theta, dtype=float)
        if theta.shape != (self.n_theta,):
            raise DesignError(f"theta must have {self.n_theta} entries, got shape {theta.shape}")
        lams = self.lambdas(theta)
        if self.grouped_gls is not None and self._beyond_gls_from(self.scaling.to_scaled(theta)):
            return self.grouped_gls(lams[0], REML)
        return evaluate_objective(self.workspace, lams[0], lams[1:], REML)

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
        if parallel is not None and self.workspace.sparse is not None:
            self.workspace.sparse.release_other_threads()  # not needed any more
        theta = scaling.to_theta(outcome.x)
        factor = self.factor(theta)
        if factor.r2 <= 1e-20 * self._total_sum_of_squares:
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

    @cached_property
    def _total_sum_of_squares(self) -> float:
        """Sum of squares of the response about its mean (0 for a fit that keeps no rows)."""
        try:
            y = self.design.y
        except RowDataUnavailableError:  # out of core: the check is the source's
            return 0.0
        centred = y - y.mean()
        return float(centred @ centred)

    def _refuse_exact_fit(self) -> None:
        """Raise, naming the response, when the fixed effects reproduce it exactly."""
        if self._total_sum_of_squares > 0.0 and fixed_effects_fit_exactly(self.design):
            response = self.design.formula.response
            raise DesignError(
                f"the response {response!r} is reproduced exactly by the fixed effects "
                f"({', '.join(self.design.fixed_names)}): there is no variation left for the "
                "random effects and the residual"
            )

    def result_at(self, theta, REML: bool = True, optsum: OptSummary | None = None) -> LmerResult:
        """The fit at a given theta: what :meth:`fit` returns when its optimum is ``theta``.

        For a theta found by another optimiser or held partly fixed (the statsmodels
        facade's ``free`` masks), or to look at the model at any point; the fixed effects,
        sigma and the conditional modes are those profiled at ``theta``. Warns as
        :meth:`fit` does (a singular fit, the messages of ``optsum``).

        Parameters
        ----------
        theta
            lme4's parameterisation, ``(n_theta,)``, within the bounds.
        REML
            The REML criterion (True) or the ML deviance.
        optsum
            The optimiser's record; default one of no optimisation (no evaluations, return
            value ``"NOT_OPTIMIZED"``, started and stopped at ``theta``).

        Returns
        -------
        LmerResult

        Examples
        --------
        >>> import mixedmodels as mm
        >>> model = mm.LinearMixedModel("Reaction ~ Days + (Days | Subject)",
        ...                             mm.datasets.load("sleepstudy"))
        >>> fit = model.fit()
        >>> at = model.result_at(fit.theta)
        >>> bool(abs(at.reml_criterion - fit.reml_criterion) < 1e-9), at.optsum.return_value
        (True, 'NOT_OPTIMIZED')
        """
        REML = flag("REML", REML)
        theta = np.asarray(theta, dtype=float)
        if theta.shape != (self.n_theta,):
            raise DesignError(f"theta must have {self.n_theta} entries, got shape {theta.shape}")
        outside = ~np.isfinite(theta) | (theta < self.lower_bounds) | (theta > self.upper_bounds)
        if outside.any():
            names = [self.theta_names[i] for i in np.flatnonzero(outside)]
            raise DesignError(f"theta is outside its bounds (or not finite) at {names}")
        if optsum is None:
            optsum = OptSummary.not_optimized(theta, self.objective(theta, REML))
        return self._result(theta, REML, optsum)

    def _result(self, theta: np.ndarray, REML: bool, summary: OptSummary, factor=None):
        sparse = self.workspace.sparse
        if summary.cholmod is None and sparse is not None:  # the fit says which CHOLMOD ran
            summary = replace(summary, cholmod=sparse.library)
        if factor is None:
            factor = self.factor(theta)
        lams = self.lambdas(theta)
        solution = solve_at_optimum(self.workspace, factor, lams[0], lams[1:])
        if summary.residual_boundary and self.grouped_gls is not None:
            solution = self.grouped_gls.refine(solution, lams[0])
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
        stats = self.stats.with_response_part(ar1_y, arr_y, shift)
        built = self.__dict__.get("workspace")  # reuse its pattern: only the response changes
        return LinearMixedModel(
            self.design.formula,
            None,
            _design=replace(self.design, y=y),
            _stats=stats,
            _scaling=self.scaling,
            _workspace=None if built is None else built.with_response(stats, ar1_y),
        )

    def with_formula(
        self, formula: str, data, *, weights=None, offset=None, contrasts=None
    ) -> LinearMixedModel:
        """A model of the same kind of another formula or data (``update``, ``ranova``)."""
        checks = getattr(self, "_checks", None)
        return LinearMixedModel(
            formula, data, weights=weights, offset=offset, contrasts=contrasts, control=checks
        )

    def refit(self, y, REML: bool = True, start=None, control: Control | dict | None = None):
        """Fit the same model to a new response ``y``; nothing but y-dependent sums is rebuilt."""
        return self.with_response(y).fit(REML=REML, start=start, control=control)

    def __repr__(self) -> str:
        """Formula and number of rows."""
        return f"LinearMixedModel({self.formula!r}, nobs={self.design.n})"

    def __getstate__(self) -> dict:
        """Pickle the set-up only: caches (scratch buffers, block maps) are rebuilt lazily."""
        caches = ("workspace", "frame")  # the engine (rebuilt on first use); the data given
        kept = {k: v for k, v in self.__dict__.items() if k not in caches}
        return {k: v for k, v in kept.items() if not k.startswith("_")} | {"frame": None}
