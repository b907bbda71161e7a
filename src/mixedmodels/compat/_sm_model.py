"""``MixedLM``: statsmodels' model class as a thin layer over :class:`LinearMixedModel`."""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from mixedmodels.compat._sm_constrained import (
    PackedConstraint,
    fit_constrained,
    independent_blocks,
    result_of_search,
)
from mixedmodels.compat._sm_design import (
    Layout,
    engine_formula,
    layout_from_arrays,
    layout_from_formula,
)
from mixedmodels.compat._sm_extras import ModelExtras
from mixedmodels.compat._sm_inference import gls_beta
from mixedmodels.compat._sm_map import ParamMap
from mixedmodels.compat._sm_methods import ModelMethods
from mixedmodels.compat._sm_missing import prepare_arrays, prepare_formula_data
from mixedmodels.compat._sm_params import MixedLMParams
from mixedmodels.compat._sm_penalty import Penalties
from mixedmodels.compat._sm_warnings import (
    check_fit_arguments,
    deprecated_vc_format,
    reissue_engine_warnings,
)
from mixedmodels.convergence import convergence_messages
from mixedmodels.errors import DesignError
from mixedmodels.model import LinearMixedModel
from mixedmodels.optimize import DEFAULT_CONTROL, minimize

__all__ = ["MixedLM", "mixedlm", "Structure", "covariance_structure", "fit_engine"]


@dataclass(frozen=True)
class Structure:
    """What a ``free`` mask asks of the engine.

    Attributes
    ----------
    components
        Blocks of ``exog_re`` columns with an unstructured covariance (one term each): the
        covariances held at zero between them make them independent.
    fixed_re, fixed_vc
        Single-column blocks and variance components whose variance is held at its start.
    free, start
        The mask over the packed variance parameters and the packed start (the model's
        ``use_sqrt`` parameterisation) when some entry inside a correlated block is held
        (the fit of :mod:`._sm_constrained`); None otherwise.
    """

    components: list[tuple[int, ...]]
    fixed_re: tuple[int, ...] = ()
    fixed_vc: tuple[int, ...] = ()
    free: np.ndarray | None = None
    start: np.ndarray | None = None


def covariance_structure(
    k_re: int,
    k_vc: int,
    free: MixedLMParams | None,
    start: tuple[np.ndarray, np.ndarray] | None = None,
    use_sqrt: bool = True,
    packed: bool = False,
) -> Structure:
    """Engine terms implied by a ``free`` mask (statsmodels reads its lower triangle).

    ``start`` is ``(cov_re, vcomp)`` relative to the scale (default ``I`` and ones, as
    statsmodels); a held entry keeps its start value in the ``use_sqrt`` parameterisation.
    ``packed``: give the mask and the packed start even when no entry inside a block is
    held (a penalised fit is optimised over the packed parameters).
    """
    if free is None:
        components = [tuple(range(k_re))] if k_re else []
        if not packed:
            return Structure(components)
        cov0, vc0 = (np.eye(k_re), np.ones(k_vc)) if start is None else start
        packed0 = MixedLMParams.from_components(cov_re=cov0, vcomp=vc0).get_packed(use_sqrt)
        return Structure(components, free=np.ones(packed0.size, dtype=bool), start=packed0)
    if not isinstance(free, MixedLMParams):
        raise DesignError("free must be a MixedLMParams")
    pattern = np.atleast_2d(np.asarray(free.cov_re, dtype=float)) != 0
    if k_re and pattern.shape != (k_re, k_re):
        raise DesignError(f"free.cov_re must be {k_re} x {k_re}, got {pattern.shape}")
    pattern = pattern.reshape(k_re, k_re)
    vc_free = np.asarray(free.vcomp, dtype=float).ravel()
    if vc_free.size not in (0, k_vc):
        raise DesignError(f"free.vcomp must have {k_vc} entries, got {vc_free.size}")
    vc_mask = vc_free != 0 if vc_free.size else np.ones(k_vc, dtype=bool)
    cov0, vc0 = (np.eye(k_re), np.ones(k_vc)) if start is None else start
    packed0 = MixedLMParams.from_components(cov_re=cov0, vcomp=vc0).get_packed(use_sqrt)
    start_tri = np.zeros((k_re, k_re))
    start_tri[np.tril_indices(k_re)] = packed0[: k_re * (k_re + 1) // 2]
    components = independent_blocks(k_re, ~pattern & (start_tri == 0))
    fixed_re, partial = [], False
    for block in components:
        held = [(i, j) for i in block for j in block if j <= i and not pattern[i, j]]
        if len(block) == 1 and held:
            fixed_re.append(block[0])
        elif held:
            partial = True
    fixed_vc = tuple(int(j) for j in np.flatnonzero(~vc_mask))
    if not (partial or packed):
        return Structure(components, tuple(fixed_re), fixed_vc)
    mask = np.concatenate([pattern[np.tril_indices(k_re)], vc_mask])
    return Structure(components, tuple(fixed_re), fixed_vc, mask, packed0)


def fit_engine(engine: LinearMixedModel, reml: bool, start, fixed: np.ndarray, optimize=True):
    """Fit the engine model with the theta entries in ``fixed`` held at ``start``."""
    if not fixed.any() and optimize:
        return engine.fit(REML=reml, start=start)
    # start_theta() is already on the optimiser's (scaled) side; a user start is lme4's theta
    if start is None:
        x0 = engine.start_theta()
    else:
        x0 = engine.scaling.to_scaled(np.asarray(start, dtype=float))
    free = ~fixed
    lower = engine.lower_bounds[free]

    def objective(x_free: np.ndarray) -> float:
        x = x0.copy()
        x[free] = x_free
        return engine.objective(engine.scaling.to_theta(x), reml)

    began = time.perf_counter()
    messages: tuple[str, ...] = ()
    x_free, evaluations, status = x0[free], 0, "NOT_OPTIMIZED"
    if optimize:
        x_free, _, evaluations, status = minimize(objective, x0[free], lower, DEFAULT_CONTROL)
        tolerance = float(DEFAULT_CONTROL["gradient_tolerance"])
        messages = convergence_messages(objective, x_free, lower, tolerance)
    x = x0.copy()
    x[free] = x_free
    theta = engine.scaling.to_theta(x)
    initial = engine.scaling.to_theta(x0)
    return result_of_search(engine, initial, theta, reml, evaluations, status, began, messages)


class MixedLM(ModelMethods, ModelExtras):
    """Linear mixed model with statsmodels' ``MixedLM`` interface, fitted by our engine.

    Parameters
    ----------
    endog
        Response, ``(n,)``.
    exog
        Fixed-effects design, ``(n, k_fe)`` (include the intercept column yourself).
    groups
        Group label of every row; groups are independent.
    exog_re
        Random-coefficient design, ``(n, k_re)``, correlated within a group; default a random
        intercept (unless ``exog_vc`` is given).
    exog_vc
        Variance components: a :class:`VCSpec` or statsmodels' dict ``exog_vc[name][group]``.
    use_sqrt
        How packed ``start_params`` are read (square-root parameterisation when True).
    missing
        ``"drop"`` drops the rows with a missing value; ``"raise"`` and ``"none"`` (the
        default) refuse them with statsmodels' ``MissingDataError`` (see
        :mod:`mixedmodels.compat._sm_missing` for where statsmodels differs).

    Examples
    --------
    >>> import mixedmodels.compat.statsmodels as sm
    >>> from mixedmodels import datasets
    >>> data = datasets.load("dietox")
    >>> result = sm.MixedLM.from_formula("Weight ~ Time", data, groups=data["Pig"]).fit()
    >>> round(-2 * result.llf, 4)
    4809.5507
    """

    fe_pen = None
    cov_pen = None

    def __init__(
        self,
        endog,
        exog,
        groups,
        exog_re=None,
        exog_vc=None,
        use_sqrt: bool = True,
        missing: str = "none",
        **kwargs,
    ) -> None:
        unknown = set(kwargs) - {"missing_idx", "formula", "model_spec"}
        if unknown:
            raise TypeError(f"argument(s) {', '.join(sorted(unknown))} not accepted by MixedLM")
        if isinstance(exog_vc, Mapping):
            deprecated_vc_format()
        endog, exog, groups, exog_re, exog_vc = prepare_arrays(
            endog, exog, groups, exog_re, exog_vc, missing
        )
        self._setup(layout_from_arrays(endog, exog, groups, exog_re, exog_vc, missing), use_sqrt)
        self.formula = kwargs.get("formula")

    def _setup(self, layout: Layout, use_sqrt: bool = True) -> None:
        self.layout = layout
        self.use_sqrt = use_sqrt
        self.reml = True
        self.k_fe = layout.exog.shape[1]
        self.k_re = layout.k_re
        self.k_re2 = self.k_re * (self.k_re + 1) // 2
        self.k_vc = len(layout.vcs)
        self.nobs = self.n_totobs = layout.nobs
        self.group_labels = list(layout.group_labels)
        self.n_groups = len(self.group_labels)
        self.exog_names = list(layout.exog_names)
        self.exog_re_names = list(layout.exog_re_names)
        self.endog_names = layout.endog_name
        self.vc_names = [vc.name for vc in layout.vcs]
        names = []
        for i, a in enumerate(self.exog_re_names):
            for b in self.exog_re_names[: i + 1]:
                names.append(f"{a} Var" if a == b else f"{b} x {a} Cov")
        self.exog_re_names_full = names
        self.param_names = self.exog_names + names + [f"{v} Var" for v in self.vc_names]

    @classmethod
    def from_formula(
        cls,
        formula: str,
        data,
        re_formula: str | None = None,
        vc_formula: Mapping[str, str] | None = None,
        subset=None,
        use_sparse: bool = False,
        missing: str = "none",
        *args,
        **kwargs,
    ) -> MixedLM:
        """Create a model from patsy-style formulas (evaluated by formulaic).

        Parameters
        ----------
        formula
            Fixed part with the response, e.g. ``"Weight ~ Time"``.
        data
            DataFrame with the variables.
        re_formula
            One-sided formula of the correlated random coefficients (default a random
            intercept; ``"Time"`` means intercept and slope).
        vc_formula
            ``{name: formula}`` of variance components nested in the groups, e.g.
            ``{"classroom": "0 + C(classroom)"}``.
        subset
            Rows of ``data`` to use.
        missing
            ``"drop"`` drops the rows with a missing value in a variable of the formulas or in
            ``groups``; ``"none"`` (the default) and ``"raise"`` refuse them with
            statsmodels' ``MissingDataError``.
        groups
            Keyword only: a column name or one label per row of ``data``.
        """
        if "groups" not in kwargs:
            raise TypeError("'groups' is a required keyword argument in MixedLM.from_formula")
        groups = kwargs.pop("groups")
        kwargs.pop("eval_env", None)
        if args or kwargs:
            raise TypeError(f"unexpected argument(s): {', '.join(sorted(kwargs)) or args}")
        data, groups = prepare_formula_data(
            formula, data, groups, re_formula, vc_formula, subset, missing
        )
        layout = layout_from_formula(formula, data, groups, re_formula, vc_formula, None, missing)
        model = cls.__new__(cls)
        model._setup(layout)
        model.formula = formula
        model._data_frame = data
        return model

    # -- arrays as statsmodels exposes them --------------------------------------------------
    @property
    def endog(self) -> np.ndarray:
        """The response."""
        return self.layout.endog

    @property
    def exog(self) -> np.ndarray:
        """The fixed-effects design."""
        return self.layout.exog

    @property
    def exog_re(self) -> np.ndarray:
        """The random-coefficient design."""
        return self.layout.exog_re

    @property
    def groups(self) -> np.ndarray:
        """Group label of every row."""
        return np.asarray(self.group_labels, dtype=object)[self.layout.groups]

    def predict(self, params, exog=None) -> np.ndarray:
        """Fixed-effects prediction ``exog @ fe_params`` (``params``: packed or MixedLMParams)."""
        # a MixedLMParams, ours or statsmodels' (same attributes)
        fe = params.fe_params if hasattr(params, "fe_params") else np.asarray(params)
        fe = np.asarray(fe, dtype=float)[: self.k_fe]
        x = self.exog if exog is None else np.asarray(exog, dtype=float)
        return x @ fe

    # -- fitting ------------------------------------------------------------------------------
    def _start(self, start_params) -> tuple[np.ndarray, np.ndarray] | None:
        if start_params is None:
            return None
        if isinstance(start_params, MixedLMParams):
            return np.asarray(start_params.cov_re, float), np.asarray(start_params.vcomp, float)
        packed = np.asarray(start_params, dtype=float).ravel()
        sizes = {self.k_fe + self.k_re2 + self.k_vc: True, self.k_re2 + self.k_vc: False}
        if packed.size not in sizes:
            raise DesignError(f"start_params has {packed.size} entries; expected one of {sizes}")
        pa = MixedLMParams.from_packed(
            packed, self.k_fe, self.k_re, self.use_sqrt, has_fe=sizes[packed.size]
        )
        return pa.cov_re, pa.vcomp

    def fit(
        self,
        start_params=None,
        reml: bool = True,
        niter_sa: int = 0,
        do_cg: bool = True,
        fe_pen=None,
        cov_pen=None,
        free: MixedLMParams | None = None,
        full_output: bool = False,
        method=None,
        **fit_kwargs,
    ):
        """Fit by REML (default) or ML on our engine (BOBYQA on the profiled criterion).

        Parameters
        ----------
        start_params
            MixedLMParams or packed vector (statsmodels' profile parameterisation).
        reml
            REML when True, maximum likelihood otherwise.
        fe_pen, cov_pen
            statsmodels' penalty objects (``L2``, ``PSD``...): the criterion is the profile
            log-likelihood less ``cov_pen`` at ``cov_re / scale`` and ``fe_pen`` at the GLS
            fixed effects, as in statsmodels (:mod:`._sm_penalty`).
        free
            MixedLMParams mask (its ``cov_re``'s lower triangle and ``vcomp``): a zero holds
            that packed parameter at its start value in the ``use_sqrt`` parameterisation
            (an entry of the Cholesky factor of ``cov_re / scale``, or of ``cov_re / scale``),
            as statsmodels does; entries held at zero make random coefficients independent,
            any other held entry is a constraint inside a correlated block
            (:mod:`._sm_constrained`).
        method, niter_sa, full_output, fit_kwargs
            Accepted for compatibility and ignored (the optimiser is always our BOBYQA); as
            in statsmodels, ``method="newton"`` is an error, ``niter_sa > 0`` and an argument
            other than statsmodels' optimiser settings (``gtol``, ``maxiter``...) warn.

        Warns
        -----
        ConvergenceWarning, SingularMatrixWarning
            statsmodels' classes (see :mod:`mixedmodels.compat._sm_warnings`): when the
            optimiser fails, when the fit is on the boundary, when ``cov_re`` is singular.

        Returns
        -------
        MixedLMResults
        """
        from mixedmodels.compat._sm_results import MixedLMResults

        check_fit_arguments(method, niter_sa, do_cg, fit_kwargs)
        self.reml = bool(reml)
        self._freepat = free  # statsmodels keeps it: score() masks by it
        self.fe_pen, self.cov_pen = fe_pen, cov_pen  # and these: loglike() subtracts them
        penalties = Penalties(fe_pen, cov_pen)
        start = self._start(start_params)
        structure = covariance_structure(
            self.k_re, self.k_vc, free, start, self.use_sqrt, packed=penalties.any
        )
        formula, frame = engine_formula(self.layout, structure.components)
        # statsmodels fits a model with as many random effects as rows; lme4 refuses it
        checks = {"check_nobs_vs_nre": "ignore", "check_nobs_vs_nlev": "ignore"}
        engine = LinearMixedModel(formula, frame, control=checks)
        if engine.design.dropped_names:
            raise DesignError(f"exog is rank deficient (aliased: {engine.design.dropped_names})")
        pmap = ParamMap.from_terms(engine.design.terms, self.k_re, self.k_vc)
        fixed = np.zeros(pmap.n_theta, dtype=bool)
        for k in structure.fixed_re:
            fixed[pmap.variance_row(k)] = True
        fixed[list(pmap.vc_theta[list(structure.fixed_vc)])] = True
        constrained = None
        if start is None and (fixed.any() or not do_cg):
            start = (np.eye(self.k_re), np.ones(self.k_vc))
        theta0 = None if start is None else pmap.theta_of(*start)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if structure.free is None:
                fit = fit_engine(engine, self.reml, theta0, fixed, optimize=do_cg)
            else:
                assert structure.start is not None
                constraint = PackedConstraint(pmap, self.use_sqrt, structure.free, structure.start)
                penalty = None
                if penalties.any:

                    def penalty(theta: np.ndarray, psi: np.ndarray) -> float:
                        return 2.0 * penalties.value(gls_beta(engine, theta), psi)

                fit, x = fit_constrained(engine, constraint, self.reml, do_cg, penalty)
                constrained = (constraint, x)
        reissue_engine_warnings(caught, fit, pmap)
        return MixedLMResults(
            model=self,
            lmer_result=fit,
            pmap=pmap,
            freepat=free,
            fixed=fixed,
            constrained=constrained,
            penalties=penalties if penalties.any else None,
        )

    def fit_regularized(
        self,
        start_params=None,
        method="l1",
        alpha=0,
        ceps: float = 1e-4,
        ptol: float = 1e-6,
        maxit: int = 200,
        **fit_kwargs,
    ):
        """Fixed effects shrunk by an L1 penalty, the variance parameters of the plain fit.

        statsmodels' algorithm (:mod:`._sm_regularized`): the unpenalised fit, then cyclic
        coordinate descent on ``(y - X b)' V^-1 (y - X b) + sum_j alpha_j |b_j|``.

        Parameters
        ----------
        start_params
            Accepted and ignored, as statsmodels does.
        method
            ``"l1"``, or a smooth statsmodels ``Penalty`` (then ``fit(fe_pen=method)`` with
            ``method.alpha = alpha``).
        alpha
            The L1 weight, a scalar or one per fixed effect.
        ceps
            Fixed effects below this in magnitude are zero.
        ptol
            The sweeps stop when no fixed effect moves by more.
        maxit
            Most sweeps.
        fit_kwargs
            Passed to :meth:`fit` for the unpenalised fit.
        """
        from mixedmodels.compat._sm_regularized import fit_regularized

        return fit_regularized(self, method, alpha, ceps, ptol, maxit, **fit_kwargs)

    def __repr__(self) -> str:
        return f"<MixedLM nobs={self.nobs}, groups={self.n_groups}, k_re={self.k_re}>"


def mixedlm(
    formula: str,
    data,
    re_formula=None,
    vc_formula=None,
    subset=None,
    use_sparse: bool = False,
    missing: str = "none",
    *args,
    **kwargs,
) -> MixedLM:
    """``MixedLM.from_formula`` (statsmodels.formula.api.mixedlm)."""
    return MixedLM.from_formula(
        formula, data, re_formula, vc_formula, subset, use_sparse, missing, *args, **kwargs
    )
