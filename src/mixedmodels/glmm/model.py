"""GeneralizedLinearMixedModel: set up once, then fit by Laplace, quadrature or nAGQ = 0.

The fit follows lme4's two stages. Stage one (lme4's ``nAGQ = 0``, MixedModels.jl's
``fast = true``) optimises theta alone, beta and the conditional modes coming from PIRLS.
Stage two optimises the Laplace (or adaptive Gauss-Hermite) objective over theta and beta
together, with beta whitened by stage one's covariance so that one trust-region radius fits
all. A finite-difference Newton step polishes the optimum and gives the Hessian from which the
fixed effects' covariance is read (lme4's default for GLMMs).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from mixedmodels.errors import (
    ConvergenceWarning,
    DesignError,
    FormulaError,
    SingularFitWarning,
)
from mixedmodels.glmm.families import Family, get_family
from mixedmodels.glmm.fitting import (
    DEFAULT_GLMM_CONTROL,
    WarmStart,
    fit_glmm,
    glm_fit,
)
from mixedmodels.glmm.mode import Mode
from mixedmodels.glmm.pirls import GlmmProblem, laplace_value, pirls, with_engine
from mixedmodels.glmm.quadrature import MAX_NODES, agq_value
from mixedmodels.glmm.response import GlmmData, build_glmm_data
from mixedmodels.inputs import as_pandas, check_formula_and_data
from mixedmodels.linalg import solve_at_optimum, update_factor
from mixedmodels.linalg.reweight import reweighted_workspace
from mixedmodels.linalg.threads import blas_limit
from mixedmodels.optimize import OptSummary
from mixedmodels.scaling import ThetaScaling, make_scaling
from mixedmodels.terms import lambda_of_block, theta_lower_bounds

__all__ = ["GeneralizedLinearMixedModel", "glmer", "DEFAULT_GLMM_CONTROL"]


class GeneralizedLinearMixedModel:
    """A generalized linear mixed model, set up for fitting.

    Parameters
    ----------
    formula
        lme4 formula, e.g. ``"cbind(incidence, size - incidence) ~ period + (1 | herd)"``.
    data
        A pandas DataFrame with every variable of the formula.
    family
        ``"binomial"``, ``"poisson"``, ``"Gamma"``, ``"inverse_gaussian"`` or a family
        object from :mod:`mixedmodels.glmm.families`.
    link
        A link name (``"logit"``, ``"probit"``, ``"log"``, ...); the family's canonical link
        when None.
    weights
        Prior weights (for a binomial proportion: the numbers of trials).
    offset
        Added to the linear predictor (with any ``offset(...)`` terms of the formula).
    contrasts
        Coding of categorical fixed-effect variables, e.g. ``{"period": "sum"}``.

    Attributes
    ----------
    frame
        The data frame given (converted to pandas), or None: what refits and plots read.

    Examples
    --------
    >>> import mixedmodels as mm
    >>> model = mm.GeneralizedLinearMixedModel(
    ...     "cbind(incidence, size - incidence) ~ period + (1 | herd)",
    ...     mm.datasets.load("cbpp"), family="binomial")
    >>> round(model.fit().deviance, 3)
    73.472
    """

    def __init__(
        self,
        formula: str,
        data: pd.DataFrame,
        family: str | Family = "binomial",
        link=None,
        *,
        weights=None,
        offset=None,
        contrasts: dict[str, str] | None = None,
        _data: GlmmData | None = None,
    ) -> None:
        self.family = get_family(family, link)
        if _data is None:  # polars, pyarrow and mappings of columns as lmer takes them
            check_formula_and_data(formula, data)
            data = as_pandas(data)
        self.data = (
            _data
            if _data is not None
            else build_glmm_data(
                formula, data, self.family, weights=weights, offset=offset, contrasts=contrasts
            )
        )
        design = self.data.design
        structured = [t for t in design.terms if t.structured]
        if structured:  # the structures' theta -> lambda map is wired into lmer only
            raise FormulaError(
                f"covariance structure {structured[0].covariance.kind}() is available in"
                " lmer (linear mixed models) only; glmer fits lme4's (x | g) and (x || g)",
                design.formula.formula,
            )
        self.design = design
        self.problem = GlmmProblem.of(
            self.family,
            self.data.y,
            self.data.trials,
            self.data.prior_weights,
            self.data.offset,
            design.X,
            [(b.codes, b.matrix, b.n_levels) for b in design.blocks],
        )
        self.scaling: ThetaScaling = make_scaling(design.blocks, design.terms)
        self.lower_bounds = theta_lower_bounds(design.terms)
        # what refits need (ranova, drop1, Nakagawa's null model: mixedmodels.inference)
        self.frame: pd.DataFrame | None = data if isinstance(data, pd.DataFrame) else None
        self._options = {"weights": weights, "offset": offset, "contrasts": contrasts}

    # -- description ----------------------------------------------------------------------
    @property
    def formula(self) -> str:
        """The formula as given."""
        return self.design.formula.formula

    @property
    def n_theta(self) -> int:
        """Number of covariance parameters."""
        return self.lower_bounds.size

    @property
    def n_fixed(self) -> int:
        """Number of fixed effects."""
        return self.design.X.shape[1]

    @property
    def theta_names(self) -> tuple[str, ...]:
        """lme4's names of the theta entries (``herd.(Intercept)``)."""
        names = []
        for term in self.design.terms:
            rows, cols = term.theta_positions()
            for r, c in zip(rows, cols, strict=True):
                if r == c:
                    names.append(f"{term.group_name}.{term.columns[r]}")
                else:
                    names.append(f"{term.group_name}.{term.columns[r]}.{term.columns[c]}")
        return tuple(names)

    def lambdas(self, theta: np.ndarray) -> list[np.ndarray]:
        """The lambda of every engine block for ``theta``."""
        theta = np.asarray(theta, dtype=float)
        return [lambda_of_block(b, theta) for b in self.design.blocks]

    def _check_agq(self, nAGQ: int) -> int:
        try:
            n = int(nAGQ)
        except (TypeError, ValueError):
            raise DesignError(
                f"nAGQ must be an integer from 0 to {MAX_NODES}, got {nAGQ!r}"
            ) from None
        if n != nAGQ or not 0 <= n <= MAX_NODES:
            raise DesignError(f"nAGQ must be an integer from 0 to {MAX_NODES}, got {nAGQ!r}")
        if n > 1:
            blocks = self.design.blocks
            if len(blocks) != 1 or blocks[0].size != 1:
                raise DesignError(
                    "nAGQ > 1 needs a single scalar random-effect term such as (1 | g); this "
                    f"model has {', '.join(f'{b.group_name} ({b.size} per level)' for b in blocks)}"
                )
            if self.family.has_dispersion:
                raise DesignError(
                    f"nAGQ > 1 is not available for the {self.family.name} family "
                    "(its scale is estimated from the deviance): use nAGQ=1"
                )
        return n

    # -- objective ------------------------------------------------------------------------
    def mode(
        self, theta, beta=None, *, joint: bool = False, _warm: WarmStart | None = None
    ) -> Mode:
        """The PIRLS conditional modes at ``theta`` and ``beta`` (beta too when ``joint``)."""
        lams = self.lambdas(theta)
        return self._mode(lams, beta, joint, _warm)

    def _mode(self, lams, beta, joint, warm: WarmStart | None) -> Mode:
        if beta is None:
            beta = warm.beta if warm is not None and warm.beta is not None else self.glm_beta
        u0 = warm.u if warm is not None else None
        mode = pirls(self.problem, lams, beta, u0, joint=joint)
        if warm is not None:
            warm.u = mode.u
            if joint:
                warm.beta = mode.beta
        return mode

    def _mode_general(self, lams, beta, joint, warm: WarmStart | None) -> Mode:
        """:meth:`_mode` on the engine's general path (statistics, factor and solution kept)."""
        u0 = warm.u if warm is not None else None
        mode = pirls(self.problem, lams, beta, u0, joint=joint)
        return with_engine(self.problem, mode, lams, joint)

    def objective(self, theta, beta=None, nAGQ: int = 1) -> float:
        """``-2 log L`` at ``theta`` and ``beta``.

        Laplace (nAGQ=1), quadrature (nAGQ>1), or for nAGQ=0 the Laplace value with beta from
        PIRLS (``beta`` is then ignored).
        """
        n = self._check_agq(nAGQ)
        theta = np.asarray(theta, dtype=float)
        if theta.shape != (self.n_theta,):
            raise DesignError(f"theta must have {self.n_theta} entries, got shape {theta.shape}")
        if n == 0:
            mode = self.mode(theta, None, joint=True)
        else:
            if beta is None:
                raise DesignError("beta is needed for nAGQ >= 1")
            beta = np.asarray(beta, dtype=float)
            if beta.shape != (self.n_fixed,):
                raise DesignError(f"beta must have {self.n_fixed} entries, got {beta.shape}")
            mode = self.mode(theta, beta)
        return self._value(mode, theta, n)

    def _value(self, mode: Mode, theta, n: int) -> float:
        if n > 1:
            lam = float(self.lambdas(theta)[0][0, 0])
            return agq_value(self.problem, mode, lam, n)
        return laplace_value(self.problem, mode)

    # -- starting values ------------------------------------------------------------------
    @property
    def glm_beta(self) -> np.ndarray:
        """Fixed effects of the GLM without random effects (IRLS), PIRLS's first start."""
        cached = self.__dict__.get("_glm")
        if cached is None:
            cached = self.__dict__["_glm"] = glm_fit(self)
        return cached.beta

    def start_theta(self) -> np.ndarray:
        """Starting theta of the internally scaled columns.

        Moment estimates of the linear mixed model on the GLM's working response and weights.
        """
        from mixedmodels.linalg.start import moment_start

        glm = self.__dict__.get("_glm") or glm_fit(self)
        self.__dict__["_glm"] = glm
        transforms, unstructured = [], []
        offsets = {t.theta_offset: T for t, T in zip(self.scaling.terms, self.scaling.transforms)}
        for block in self.design.blocks:
            T = np.eye(block.size)
            for term, off in zip(block.terms, block.column_offsets, strict=True):
                T[off : off + term.size, off : off + term.size] = offsets[term.theta_offset]
            transforms.append(None if np.array_equal(T, np.eye(block.size)) else T)
            unstructured.append(bool(np.any(block.lambda_rows != block.lambda_cols)))
        lams = moment_start(glm.stats, transforms, unstructured)
        start = np.zeros(self.n_theta)
        for block, lam in zip(self.design.blocks, lams, strict=True):
            start[block.theta_index] = lam[block.lambda_rows, block.lambda_cols]
        return np.maximum(start, np.where(self.lower_bounds == 0, 0.05, -np.inf))

    def with_formula(
        self, formula: str, data, *, weights=None, offset=None, contrasts=None
    ) -> GeneralizedLinearMixedModel:
        """A model of the same family and link for another formula or data.

        The reduced models of ``ranova``/``drop1`` and the null model of ``r2``.
        """
        return GeneralizedLinearMixedModel(
            formula, data, self.family, weights=weights, offset=offset, contrasts=contrasts
        )

    # -- fitting --------------------------------------------------------------------------
    def fit(self, nAGQ: int = 1, start: dict | None = None, control: dict | None = None):
        """Fit by maximum likelihood (Laplace for nAGQ=1).

        Parameters
        ----------
        nAGQ
            0: theta optimised with beta from PIRLS (fast, approximate); 1: Laplace
            approximation (lme4's default); 2..25: adaptive Gauss-Hermite quadrature with
            that many nodes (one scalar random-effect term only).
        start
            ``{"theta": ..., "fixef": ...}`` (lme4's), either may be left out.
        control
            Settings overriding :data:`DEFAULT_GLMM_CONTROL`.

        Returns
        -------
        GlmerResult
        """
        with blas_limit(self._dense_size()):
            return fit_glmm(self, nAGQ, start, control)

    def _dense_size(self) -> int:
        """The dimension of the dense factor of the compiled multi-block PIRLS.

        Else one beyond the threaded minimum (BLAS threads only slow such a small
        factorisation down).
        """
        from mixedmodels.glmm.blocked_pirls import plans_of
        from mixedmodels.linalg.threads import THREADED_MIN

        if len(self.problem.blocks) < 2 or self.problem.codes is None:
            return THREADED_MIN
        plan = plans_of(self.problem)[1]
        return THREADED_MIN if plan is None else plan.m

    def lambdas_scaled(self, x: np.ndarray) -> list[np.ndarray]:
        """The lambda of every block for ``x``, theta of the scaled columns (the optimiser's view).

        Where every term has one column, theta is ``|t x|`` directly (no loop over the scaling).
        """
        cached = self.__dict__.get("_scalar_factors")
        if cached is None or cached[0] is not self.scaling:
            # every term one column: theta = |t x| (ThetaScaling's 1 x 1 map, without its loop)
            scalar = all(T.shape == (1, 1) for T in self.scaling.transforms)
            factors = np.zeros(self.n_theta) if scalar else False
            if scalar:
                for term, T in zip(self.scaling.terms, self.scaling.transforms, strict=True):
                    factors[term.theta_offset] = T[0, 0]  # type: ignore[index]
            cached = self.__dict__["_scalar_factors"] = (self.scaling, factors)
        factors = cached[1]
        if factors is False:
            return self.lambdas(self.scaling.to_theta(x))
        return self.lambdas(np.abs(factors * np.asarray(x, dtype=float)))

    def result_at(self, theta, beta, nAGQ: int = 1, optsum: OptSummary | None = None):
        """The fit at given ``theta`` and ``beta`` (conditional modes by PIRLS), as ``fit`` gives.

        ``optsum`` defaults to a record of no optimisation (``"NOT_OPTIMIZED"``); the fixed
        effects' covariance is then ``(R_X' R_X)^-1`` at the mode, no Hessian's.
        """
        theta, beta = np.asarray(theta, dtype=float), np.asarray(beta, dtype=float)
        if optsum is None:
            optsum = OptSummary.not_optimized(theta, self.objective(theta, beta, nAGQ))
        return self._result(theta, beta, self._check_agq(nAGQ), optsum, None)

    def _result(self, theta, beta, n_agq: int, summary: OptSummary, hessian_vcov, u=None):
        from mixedmodels.glmm.results import GlmerResult

        lams = self.lambdas(theta)
        mode = pirls(self.problem, lams, beta, u, joint=False)
        mode = with_engine(self.problem, mode, lams, False)
        # (R_X' R_X)^-1 at the mode's weights: the covariance without the Hessian
        fam = self.family
        mu_eta = fam.link.mu_eta(mode.eta)
        weights = self.problem.prior_weights * mu_eta * mu_eta / fam.variance(mode.mu)
        response = mode.eta - self.problem.offset + (self.problem.y - mode.mu) / mu_eta
        with np.errstate(divide="ignore"):
            workspace = reweighted_workspace(self.problem.plan_joint, response, weights)
        factor = update_factor(workspace, lams[0], lams[1:])
        rx_cov = solve_at_optimum(workspace, factor, lams[0], lams[1:]).beta_cov_unscaled
        result = GlmerResult(
            model=self,
            theta=np.asarray(theta, float),
            beta=np.asarray(beta, float),
            nAGQ=n_agq,
            mode=mode,
            optsum=summary,
            hessian_vcov=hessian_vcov,
            rx_vcov=rx_cov,
        )
        for message in summary.messages:
            warnings.warn(message, ConvergenceWarning, stacklevel=3)
        if result.is_singular:
            warnings.warn(
                "boundary (singular) fit: a variance is zero or a correlation is +-1; "
                "see GlmerResult.is_singular",
                SingularFitWarning,
                stacklevel=3,
            )
        return result

    def refit(self, y, nAGQ: int = 1, start: dict | None = None, control: dict | None = None):
        """Fit the same model to a new response ``y`` (same rows, the family's scale)."""
        return self.with_response(y).fit(nAGQ=nAGQ, start=start, control=control)

    def with_response(self, y) -> GeneralizedLinearMixedModel:
        """The same model with a new response (same rows); the design is reused."""
        from dataclasses import replace

        y = np.asarray(y, dtype=float)
        if y.shape != self.data.y.shape:
            raise DesignError(f"y must have shape {self.data.y.shape}, got {y.shape}")
        if not np.isfinite(y).all():
            raise DesignError("the new response has non-finite values")
        self.family.check_response(y, self.data.prior_weights, "(new response)")
        data = replace(self.data, y=y, design=replace(self.data.design, y=y))
        new = GeneralizedLinearMixedModel.__new__(GeneralizedLinearMixedModel)
        new.family = self.family
        new.data = data
        new.design = data.design
        new.problem = replace(self.problem, y=y)
        new.scaling = self.scaling
        new.lower_bounds = self.lower_bounds
        return new

    def with_family(self, family: Family) -> GeneralizedLinearMixedModel:
        """The same model (design and plans reused) with another family.

        E.g. a new negative binomial theta.
        """
        from mixedmodels.glmm.pirls import GlmmProblem as Problem

        fresh = Problem.of(
            family,
            self.data.y,
            self.data.trials,
            self.data.prior_weights,
            self.data.offset,
            self.design.X,
            self.problem.blocks,
            plans=(self.problem.plan_u, self.problem.plan_joint),
        )
        new = GeneralizedLinearMixedModel.__new__(GeneralizedLinearMixedModel)
        new.family = family
        new.data = self.data
        new.design = self.design
        new.problem = fresh
        new.scaling = self.scaling
        new.lower_bounds = self.lower_bounds
        return new

    def __repr__(self) -> str:
        """Formula, family and number of rows."""
        return f"GeneralizedLinearMixedModel({self.formula!r}, {self.family}, nobs={self.design.n})"


def glmer(
    formula: str,
    data: pd.DataFrame,
    family: str | Family = "binomial",
    link=None,
    *,
    nAGQ: int = 1,
    weights=None,
    offset=None,
    contrasts: dict[str, str] | None = None,
    start: dict | None = None,
    control: dict | None = None,
):
    """Fit a generalized linear mixed model (lme4's ``glmer``).

    Parameters
    ----------
    formula
        lme4 formula; the response may be ``cbind(successes, failures)``, 0/1, bool, a
        two-level factor (first level = failure) or a proportion with ``weights=`` trials;
        ``offset(expr)`` terms are allowed.
    data
        pandas DataFrame.
    family, link
        Family name or object and link name (see :class:`GeneralizedLinearMixedModel`).
    nAGQ
        0, 1 (Laplace, default) or up to 25 adaptive Gauss-Hermite nodes.
    weights, offset, contrasts
        As for :class:`GeneralizedLinearMixedModel`.
    start, control
        See :meth:`GeneralizedLinearMixedModel.fit`.

    Returns
    -------
    GlmerResult

    Examples
    --------
    >>> import mixedmodels as mm
    >>> fit = mm.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)",
    ...                mm.datasets.load("cbpp"), family="binomial")
    >>> fit.fixef.round(2).to_dict()
    {'(Intercept)': -1.4, 'period2': -0.99, 'period3': -1.13, 'period4': -1.58}
    """
    model = GeneralizedLinearMixedModel(
        formula, data, family, link, weights=weights, offset=offset, contrasts=contrasts
    )
    return model.fit(nAGQ=nAGQ, start=start, control=control)
