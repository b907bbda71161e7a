"""statsmodels' ``MixedLM`` model methods at any parameter point, as a mixin of the facade.

statsmodels' model evaluates its profile log-likelihood, score and Hessian at any point, not
only at the optimum: ``loglike(params, profile_fe=True)``, ``score(params, profile_fe=True)``,
``hessian(params)``, ``get_fe_params(cov_re, vcomp)`` and ``get_scale(fe_params, cov_re,
vcomp)``, with ``cov_re`` and ``vcomp`` relative to the scale. The log-likelihood comes from
every group's cross products (:mod:`._sm_likelihood`, exact); the score and the Hessian are
its analytic derivatives (:mod:`._sm_derivatives`, no finite differences), in the
parameterisation statsmodels uses for each: the score in the model's ``use_sqrt`` one, the
Hessian in ``(fe_params, cov_re lower triangle, vcomp)``. After ``fit(free=...)`` the score is
masked by the ``free`` pattern, as statsmodels masks it.

Parameters are a ``MixedLMParams`` (ours or statsmodels') or a packed vector read as
statsmodels reads it (``use_sqrt``): the variance parameters only, or, as an extension that
statsmodels' ``hessian`` also accepts, the fixed effects first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mixedmodels.compat._sm_derivatives import derivatives, sqrt_jacobian
from mixedmodels.compat._sm_design import Layout
from mixedmodels.compat._sm_likelihood import (
    GroupStats,
    evaluate,
    gls_fe,
    loglike_value,
    profile_scale,
)
from mixedmodels.compat._sm_params import MixedLMParams
from mixedmodels.compat._sm_penalty import Penalties
from mixedmodels.compat._sm_tests import constant_column
from mixedmodels.errors import DesignError

__all__ = ["ModelData", "ModelMethods", "group_stats"]

_SINGULAR = 1e-10  # statsmodels' get_fe_params tolerance


def group_stats(layout: Layout) -> GroupStats:
    """Every group's cross products of ``Z = [exog_re, variance-component columns]``."""
    rows, zs, vc_index = [], [], []
    for i in range(len(layout.group_labels)):
        idx = np.flatnonzero(layout.groups == i)
        mats, owner = [layout.exog_re[idx]], []
        for j, vc in enumerate(layout.vcs):
            z, _ = vc.group_matrix(i, idx)
            mats.append(z)
            owner.extend([j] * z.shape[1])
        rows.append(idx)
        zs.append(np.hstack(mats))
        vc_index.append(np.asarray(owner, dtype=np.intp))
    return GroupStats.build(layout.endog, layout.exog, rows, zs, vc_index, layout.k_re)


@dataclass(frozen=True, eq=False)
class ModelData:
    """What statsmodels' ``model.data`` holds for a mixed model.

    Attributes
    ----------
    xnames, ynames
        Fixed-effects column names and the response name.
    param_names
        Names of the packed parameters.
    exog_re_names, exog_re_names_full
        Random-coefficient names and the names of their covariance parameters.
    frame
        The DataFrame given to ``from_formula`` (None for the array interface).
    row_labels
        Row labels of the rows used (None for arrays without labels).
    endog, exog
        The response and the fixed-effects design, as arrays.
    k_constant, const_idx
        Whether the fixed effects have a constant, and its column (None if implicit).
    """

    xnames: list[str]
    ynames: str
    param_names: list[str]
    exog_re_names: list[str]
    exog_re_names_full: list[str]
    frame: pd.DataFrame | None
    row_labels: pd.Index | None
    endog: np.ndarray
    exog: np.ndarray
    k_constant: int = 0
    const_idx: int | None = None


class ModelMethods:
    """statsmodels' evaluation methods; the host class sets the layout and the sizes."""

    layout: Layout
    k_fe: int
    k_re: int
    k_re2: int
    k_vc: int
    use_sqrt: bool
    reml: bool
    group_labels: list
    param_names: list[str]
    exog_re_names: list[str]
    exog_re_names_full: list[str]
    _data_frame: pd.DataFrame  # set by from_formula

    # -- data -----------------------------------------------------------------------------
    @property
    def _stats(self) -> GroupStats:
        cached = self.__dict__.get("_stats_cache")
        if cached is None or cached[0] is not self.layout:
            cached = (self.layout, group_stats(self.layout))
            self.__dict__["_stats_cache"] = cached
        return cached[1]

    @property
    def row_indices(self) -> dict:
        """Row positions of every group, ``{label: [int, ...]}``."""
        codes = self.layout.groups
        return {
            label: np.flatnonzero(codes == i).tolist() for i, label in enumerate(self.group_labels)
        }

    @property
    def data(self) -> ModelData:
        """statsmodels' model data: names, the formula's frame, row labels, arrays."""
        layout = self.layout
        re_names, re_full = list(self.exog_re_names), list(self.exog_re_names_full)
        if layout.default_re:
            re_names = re_full = ["Group Var"]
        labelled = layout.pandas or getattr(self, "formula", None) is not None
        return ModelData(
            xnames=list(layout.exog_names),
            ynames=layout.endog_name,
            param_names=list(self.param_names),
            exog_re_names=re_names,
            exog_re_names_full=re_full,
            frame=self.__dict__.get("_data_frame"),
            row_labels=layout.row_index if labelled else None,
            endog=layout.endog,
            exog=layout.exog,
            k_constant=self.k_constant,
            const_idx=constant_column(layout.exog)[1],
        )

    @property
    def k_constant(self) -> int:
        """1 when the fixed effects have a constant (explicit or implicit), else 0."""
        return constant_column(self.layout.exog)[0]

    # -- parameter points -----------------------------------------------------------------
    def _read(self, params, use_sqrt: bool) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
        """``(fe_params or None, cov_re, vcomp)``, both relative to the scale."""
        if hasattr(params, "cov_re") and hasattr(params, "vcomp"):
            fe = np.asarray(getattr(params, "fe_params", np.zeros(0)), dtype=float).ravel()
            cov = np.asarray(params.cov_re, dtype=float).reshape(self.k_re, self.k_re)
            vc = np.asarray(params.vcomp, dtype=float).ravel()
            if vc.size != self.k_vc:
                raise DesignError(f"vcomp has {vc.size} entries; the model has {self.k_vc}")
            return (fe if fe.size == self.k_fe else None), cov, vc
        packed = np.asarray(params, dtype=float).ravel()
        n_var = self.k_re2 + self.k_vc
        if packed.size not in (n_var, n_var + self.k_fe):
            raise DesignError(
                f"params has {packed.size} entries; expected {n_var} (variance parameters) "
                f"or {n_var + self.k_fe} (fixed effects first)"
            )
        has_fe = packed.size == n_var + self.k_fe
        pa = MixedLMParams.from_packed(packed, self.k_fe, self.k_re, use_sqrt, has_fe=has_fe)
        return (pa.fe_params if has_fe else None), pa.cov_re, pa.vcomp

    def _fe_or_zeros(self, fe: np.ndarray | None) -> np.ndarray:
        return np.zeros(self.k_fe) if fe is None else fe

    @property
    def _penalties(self) -> Penalties:
        """The last fit's penalties (statsmodels keeps them on the model)."""
        return Penalties(getattr(self, "fe_pen", None), getattr(self, "cov_pen", None))

    def _loglike_at(self, fe, cov_re, vcomp, profile_fe: bool) -> float:
        ev = evaluate(self._stats, cov_re, vcomp)
        if profile_fe:
            fe = gls_fe(ev, singular=self._singular(cov_re, vcomp, _SINGULAR))
        fe = np.asarray(fe, dtype=float)
        value = loglike_value(ev, fe, self._stats.nobs, self.reml)
        penalties = self._penalties
        return value - penalties.value(fe, cov_re) if penalties.any else value

    @staticmethod
    def _singular(cov_re: np.ndarray, vcomp: np.ndarray, tol: float) -> bool:
        """statsmodels' test: an eigenvalue of ``cov_re`` or a variance below ``tol``."""
        low_re = cov_re.size > 0 and np.linalg.eigvalsh(cov_re).min() < tol
        low_vc = vcomp.size > 0 and vcomp.min() < tol
        return bool(low_re or low_vc)

    # -- statsmodels' methods -------------------------------------------------------------
    def get_fe_params(self, cov_re, vcomp, tol: float = _SINGULAR) -> tuple[np.ndarray, bool]:
        """GLS fixed effects at ``cov_re`` and ``vcomp`` (relative to the scale).

        Returns
        -------
        fe_params
            The GLS estimate (a pseudo-inverse solve when the covariance is singular).
        singular
            Whether an eigenvalue of ``cov_re`` or a variance component is below ``tol``.
        """
        if self.k_fe == 0:
            return np.array([]), False
        cov = np.atleast_2d(np.asarray(cov_re, dtype=float)).reshape(self.k_re, self.k_re)
        vc = np.asarray(vcomp, dtype=float).ravel()
        sing = self._singular(cov, vc, tol)
        return gls_fe(evaluate(self._stats, cov, vc), singular=sing), sing

    def get_scale(self, fe_params, cov_re, vcomp) -> float:
        """Residual variance implied by ``fe_params``, ``cov_re`` and ``vcomp`` (REML or ML)."""
        cov = np.atleast_2d(np.asarray(cov_re, dtype=float)).reshape(self.k_re, self.k_re)
        ev = evaluate(self._stats, cov, np.asarray(vcomp, dtype=float).ravel())
        fe = np.asarray(fe_params, dtype=float).ravel()
        return profile_scale(ev, fe, self._stats.nobs, self.reml)

    def loglike(self, params, profile_fe: bool = True) -> float:
        """Profile log-likelihood (scale profiled out) at ``params``.

        Parameters
        ----------
        params
            MixedLMParams, or a packed vector (``use_sqrt`` as the model): the variance
            parameters, optionally preceded by the fixed effects.
        profile_fe
            Replace the fixed effects by their GLS estimate (zeros when ``params`` has none
            and ``profile_fe`` is False, as statsmodels).
        """
        fe, cov, vc = self._read(params, self.use_sqrt)
        return self._loglike_at(self._fe_or_zeros(fe), cov, vc, profile_fe)

    def _packed_gradient(self, fe, cov_re, vcomp, profile_fe: bool, use_sqrt: bool):
        """Gradient in statsmodels' packed coordinates ([fe,] cov_re triangle, vcomp)."""
        if profile_fe:
            fe = gls_fe(evaluate(self._stats, cov_re, vcomp))
        d = derivatives(self._stats, cov_re, vcomp, fe, self.reml)
        d_fe, d_var = d.score_fe, d.score_var
        penalties = self._penalties
        if penalties.any:  # statsmodels: the covariance penalty always, fe_pen with the fe
            pen_fe, pen_re = penalties.gradient(fe, cov_re)
            d_var = d_var.copy()
            d_var[: self.k_re2] -= pen_re
            if not profile_fe:
                d_fe = d_fe - pen_fe
        if use_sqrt:
            d_var = sqrt_jacobian(cov_re, vcomp)[0].T @ d_var
        free = getattr(self, "_freepat", None)
        if free is not None:  # statsmodels masks its score by the fit's ``free`` pattern
            d_fe = d_fe * np.asarray(free.fe_params, dtype=float)
            mask = [np.asarray(free.cov_re, dtype=float)[np.tril_indices(self.k_re)]]
            if np.size(free.vcomp) == self.k_vc:
                mask.append(np.asarray(free.vcomp, dtype=float))
            else:
                mask.append(np.ones(self.k_vc))
            d_var = d_var * np.concatenate(mask)
        return d_var if profile_fe else np.concatenate([d_fe, d_var])

    def score(self, params, profile_fe: bool = True) -> np.ndarray:
        """Gradient of :meth:`loglike` in the model's parameterisation (``use_sqrt``).

        With ``profile_fe`` the gradient in the variance parameters (fixed effects at their
        GLS estimate); otherwise in the fixed effects, then the variance parameters.
        """
        fe, cov, vc = self._read(params, self.use_sqrt)
        return self._packed_gradient(self._fe_or_zeros(fe), cov, vc, profile_fe, self.use_sqrt)

    def hessian(self, params) -> tuple[np.ndarray, bool]:
        """Hessian of the log-likelihood in ``(fe_params, cov_re lower triangle, vcomp)``.

        The fixed effects are not profiled (taken from ``params``; their GLS estimate when
        ``params`` has none). The exact, analytic Hessian: statsmodels' own matrix leaves out
        the terms in ``X'V^-1 (y - X fe)``, so the two agree where the fixed effects are the
        GLS estimate (as at an optimum). Returns the Hessian and whether ``cov_re`` is
        singular.
        """
        fe, cov, vc = self._read(params, self.use_sqrt)
        if fe is None:
            fe = self.get_fe_params(cov, vc)[0]
        try:
            np.linalg.inv(cov)
            sing = False
        except np.linalg.LinAlgError:
            sing = True
        hess = derivatives(self._stats, cov, vc, fe, self.reml, hessian=True, exact=True).hessian
        assert hess is not None
        return (hess + hess.T) / 2, sing
