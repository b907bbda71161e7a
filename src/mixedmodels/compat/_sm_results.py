"""``MixedLMResults``: a fitted engine model read in statsmodels' parameterisation.

statsmodels reports ``cov_re`` and ``vcomp`` on the scale of the data, ``scale`` as the
residual variance and packs ``params`` as (fixed effects, lower triangle of
``cov_re / scale`` row by row, ``vcomp / scale``); ``bse`` and ``cov_params`` follow that
packing. The engine's :class:`~mixedmodels.results.LmerResult` is kept as ``lmer_result``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.stats import norm

from mixedmodels.compat._sm_constrained import PackedConstraint
from mixedmodels.compat._sm_extras import ResultsExtras
from mixedmodels.compat._sm_map import ParamMap
from mixedmodels.compat._sm_params import MixedLMParams
from mixedmodels.compat._sm_penalty import Penalties
from mixedmodels.compat._sm_store import StoreMixin
from mixedmodels.compat._sm_summary import MixedLMSummary, build_summary
from mixedmodels.compat._sm_tests import HypothesisTests
from mixedmodels.compat._sm_variance import VarianceInference
from mixedmodels.newdata import new_model_matrix

if TYPE_CHECKING:
    from mixedmodels.compat._sm_model import MixedLM
    from mixedmodels.results import LmerResult

__all__ = ["MixedLMResults"]


@dataclass(frozen=True, eq=False)
class MixedLMResults(StoreMixin, HypothesisTests, VarianceInference, ResultsExtras):
    """Results of :meth:`MixedLM.fit`, with statsmodels' attribute names.

    Attributes
    ----------
    model
        The :class:`MixedLM` that was fitted.
    lmer_result
        The engine's :class:`~mixedmodels.results.LmerResult` (lme4-style accessors).
    pmap
        Map between the engine's theta and statsmodels' variance parameters.
    freepat
        The ``free`` mask of the fit, or None.
    fixed
        Theta entries held fixed during the fit.
    constrained
        For a mask holding entries inside a correlated block, or a penalised fit: the
        constraint and its free entries at the optimum (:mod:`._sm_constrained`); None
        otherwise.
    penalties
        The ``fe_pen`` and ``cov_pen`` of a penalised fit (:mod:`._sm_penalty`), or None.
    """

    model: MixedLM
    lmer_result: LmerResult  # None after remove_data()
    pmap: ParamMap
    freepat: MixedLMParams | None
    fixed: np.ndarray
    constrained: tuple[PackedConstraint, np.ndarray] | None = None
    penalties: Penalties | None = None

    # -- helpers --------------------------------------------------------------------------
    def _vector(self, values, names) -> pd.Series | np.ndarray:
        values = np.asarray(values, dtype=float)
        return pd.Series(values, index=list(names)) if self.model.layout.pandas else values

    def _rows(self, values, name=None):
        values = np.asarray(values, dtype=float)
        if self.model.layout.pandas:
            return pd.Series(values, index=self.model.layout.row_index, name=name)
        return values

    @cached_property
    def _theta(self) -> np.ndarray:
        return np.asarray(self.lmer_result.theta, dtype=float)

    # -- scalars --------------------------------------------------------------------------
    @cached_property
    def reml(self) -> bool:
        """Whether the REML criterion was optimised."""
        return bool(self.lmer_result.reml)

    @property
    def method(self) -> str:
        """``"REML"`` or ``"ML"``."""
        return "REML" if self.reml else "ML"

    @cached_property
    def converged(self) -> bool:
        """True when the fit was optimised and the engine's convergence checks passed."""
        optsum = self.lmer_result.optsum
        return bool(self.lmer_result.converged) and optsum.return_value != "NOT_OPTIMIZED"

    @property
    def nobs(self) -> int:
        """Number of observations."""
        return self.model.nobs

    @cached_property
    def df_resid(self) -> int:
        """Observations minus the rank of ``exog`` (statsmodels' definition)."""
        return self.model.nobs - int(np.linalg.matrix_rank(self.model.exog))

    @cached_property
    def _group_sizes(self) -> np.ndarray:
        return np.bincount(self.model.layout.groups)

    @property
    def cov_pen(self):
        """The covariance penalty of the fit (statsmodels' object), or None."""
        return None if self.penalties is None else self.penalties.cov_pen

    @property
    def hist(self) -> None:
        """Optimiser history (statsmodels fills it with ``full_output``; ours is None)."""
        return None

    @property
    def normalized_cov_params(self) -> pd.DataFrame | np.ndarray:
        """``cov_params() / scale``, statsmodels' stored covariance."""
        value = np.asarray(self._information.pcov) / self.scale
        if not self.model.layout.pandas:
            return value
        names = self.model.param_names
        return pd.DataFrame(value, index=names, columns=names)

    @property
    def df_modelwc(self) -> int:
        """Length of ``params`` (statsmodels' value for MixedLM; ``aic`` adds the scale)."""
        return self.k_fe + self.k_re2 + self.k_vc

    @property
    def k_fe(self) -> int:
        """Number of fixed effects."""
        return self.model.k_fe

    @property
    def k_re(self) -> int:
        """Number of correlated random coefficients."""
        return self.model.k_re

    @property
    def k_re2(self) -> int:
        """Number of packed covariance parameters."""
        return self.model.k_re2

    @property
    def k_vc(self) -> int:
        """Number of variance components."""
        return self.model.k_vc

    @property
    def use_sqrt(self) -> bool:
        """The model's ``use_sqrt`` setting."""
        return self.model.use_sqrt

    @cached_property
    def scale(self) -> float:
        """Residual variance."""
        return float(self.lmer_result.sigma**2)

    @cached_property
    def llf(self) -> float:
        """Log-likelihood (REML log-likelihood for REML fits), less the fit's penalties."""
        value = float(self.lmer_result.loglik)
        if self.penalties is not None:
            value -= self.penalties.value(np.asarray(self.fe_params), self._psi)
        return value

    @property
    def _df_model(self) -> int:
        if self.freepat is None:
            return self.k_fe + int(self.pmap.var_mask.sum()) + 1
        return int((np.asarray(self.freepat.fe_params) != 0).sum() + self._estimated.sum()) + 1

    @property
    def aic(self) -> float:
        """Akaike information criterion (NaN for REML fits, as statsmodels)."""
        return np.nan if self.reml else -2 * (self.llf - self._df_model)

    @property
    def bic(self) -> float:
        """Bayesian information criterion (NaN for REML fits, as statsmodels)."""
        return np.nan if self.reml else -2 * self.llf + np.log(self.nobs) * self._df_model

    # -- estimates ------------------------------------------------------------------------
    @cached_property
    def fe_params(self) -> pd.Series | np.ndarray:
        """Fixed effects."""
        return self._vector(self.lmer_result.fixef.to_numpy(), self.model.exog_names)

    @cached_property
    def _psi(self) -> np.ndarray:
        return self.pmap.psi(self._theta)

    @cached_property
    def cov_re_unscaled(self) -> pd.DataFrame | np.ndarray:
        """Random-effects covariance divided by the scale (a DataFrame for pandas input)."""
        if not self.model.layout.pandas:
            return self._psi
        names = self.model.exog_re_names
        return pd.DataFrame(self._psi, index=names, columns=names)

    @cached_property
    def cov_re(self) -> pd.DataFrame:
        """Random-effects covariance on the data scale."""
        names = self.model.exog_re_names
        return pd.DataFrame(self.scale * self._psi, index=names, columns=names)

    @cached_property
    def vcomp(self) -> np.ndarray:
        """Variance components on the data scale."""
        return self.scale * self.pmap.vc_rel(self._theta)

    @cached_property
    def params(self) -> pd.Series | np.ndarray:
        """Packed: fixed effects, ``cov_re / scale`` (lower triangle), ``vcomp / scale``."""
        packed = np.concatenate([np.asarray(self.fe_params), self.pmap.packed_var(self._theta)])
        return self._vector(packed, self.model.param_names)

    @property
    def params_object(self) -> MixedLMParams:
        """The estimates as a MixedLMParams (profile parameterisation)."""
        return MixedLMParams.from_components(
            np.asarray(self.fe_params), self._psi, vcomp=self.pmap.vc_rel(self._theta)
        )

    # -- standard errors ------------------------------------------------------------------
    def cov_params(self) -> pd.DataFrame | np.ndarray:
        """Covariance of ``params`` from the observed information (statsmodels' layout)."""
        pcov = self._information.pcov
        if self.model.layout.pandas:
            names = self.model.param_names
            return pd.DataFrame(pcov, index=names, columns=names)
        return pcov

    @cached_property
    def bse(self) -> pd.Series | np.ndarray:
        """Standard errors of ``params``."""
        with np.errstate(invalid="ignore"):  # NaN where the information is not positive
            values = np.sqrt(np.diag(self._information.pcov))
        return self._vector(values, self.model.param_names)

    @property
    def bse_fe(self) -> pd.Series | np.ndarray:
        """Standard errors of the fixed effects."""
        return self._vector(np.asarray(self.bse)[: self.k_fe], self.model.exog_names)

    @cached_property
    def bse_re(self) -> pd.Series | np.ndarray:
        """Standard errors of ``cov_re`` (lower triangle) and ``vcomp`` on the data scale."""
        values = np.sqrt(np.diag(self._information.cov_abs))
        return self._vector(values, self.model.param_names[self.k_fe :])

    @property
    def tvalues(self) -> pd.Series | np.ndarray:
        """``params / bse``."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self._vector(
                np.asarray(self.params) / np.asarray(self.bse), self.model.param_names
            )

    @property
    def pvalues(self) -> pd.Series | np.ndarray:
        """Two-sided normal p-values of ``tvalues``."""
        return self._vector(2 * norm.sf(np.abs(np.asarray(self.tvalues))), self.model.param_names)

    def conf_int(self, alpha: float = 0.05, cols=None) -> pd.DataFrame | np.ndarray:
        """Wald intervals ``params -+ z bse`` (columns 0 and 1, as statsmodels)."""
        q = -norm.ppf(alpha / 2)
        est, se = np.asarray(self.params), np.asarray(self.bse)
        out = np.column_stack([est - q * se, est + q * se])
        if cols is not None:
            out = out[list(cols)]
        if self.model.layout.pandas:
            names = np.asarray(self.model.param_names)
            return pd.DataFrame(out, index=names if cols is None else names[list(cols)])
        return out

    # -- random effects, fitted values ----------------------------------------------------
    @cached_property
    def _group_design(self) -> list[tuple[np.ndarray, list[str], np.ndarray, np.ndarray]]:
        """Per group: rows, names, random-effects design and prior relative covariance factor."""
        layout, model = self.model.layout, self.model
        theta = self._theta
        lam_re = self.pmap.factor(theta)
        out = []
        for i in range(model.n_groups):
            rows = np.flatnonzero(layout.groups == i)
            names = list(model.exog_re_names)
            mats, diag = [layout.exog_re[rows]], []
            for vc, t in zip(layout.vcs, theta[self.pmap.vc_theta], strict=True):
                z, columns = vc.group_matrix(i, rows)
                mats.append(z)
                diag.extend([t] * z.shape[1])
                names.extend(f"{vc.name}[{c}]" for c in columns)
            z_all = np.hstack(mats)
            lam = np.zeros((z_all.shape[1], z_all.shape[1]))
            lam[: model.k_re, : model.k_re] = lam_re
            idx = np.arange(model.k_re, z_all.shape[1])
            lam[idx, idx] = diag
            out.append((rows, names, z_all, lam))
        return out

    @cached_property
    def random_effects(self) -> dict:
        """Conditional means of the random effects, one Series per group label."""
        beta = np.asarray(self.fe_params, dtype=float)
        layout = self.model.layout
        resid = layout.endog - layout.exog @ beta
        out = {}
        for label, (rows, names, z, lam) in zip(
            self.model.group_labels, self._group_design, strict=True
        ):
            zl = z @ lam
            m = zl.T @ zl + np.eye(lam.shape[0])
            b = lam @ np.linalg.solve(m, zl.T @ resid[rows])
            out[label] = pd.Series(b, index=names)
        return out

    @cached_property
    def random_effects_cov(self) -> dict:
        """Conditional covariance of every group's random effects."""
        out = {}
        for label, (_, names, z, lam) in zip(
            self.model.group_labels, self._group_design, strict=True
        ):
            zl = z @ lam
            m = zl.T @ zl + np.eye(lam.shape[0])
            cov = self.scale * lam @ np.linalg.solve(m, lam.T)
            out[label] = pd.DataFrame(cov, index=names, columns=names)
        return out

    @cached_property
    def fittedvalues(self) -> pd.Series | np.ndarray:
        """Fixed part plus the predicted random effects, per row."""
        return self._rows(self.lmer_result.fitted.to_numpy())

    @cached_property
    def resid(self) -> pd.Series | np.ndarray:
        """``endog - fittedvalues``."""
        return self._rows(self.model.layout.endog - np.asarray(self.fittedvalues))

    def predict(self, exog=None, transform: bool = True, *args, **kwargs):
        """Fixed-effects predictions ``exog @ fe_params`` (new data through the formula)."""
        fe = np.asarray(self.fe_params, dtype=float)
        layout = self.model.layout
        if exog is None:
            return self._rows(layout.exog @ fe)
        if transform and layout.fixed_spec is not None and isinstance(exog, pd.DataFrame):
            frame = new_model_matrix(layout.fixed_spec, exog, "the fixed part")
            matrix = np.asarray(pd.DataFrame(frame)[list(layout.exog_names)], dtype=float)
        else:
            matrix = np.asarray(exog, dtype=float)
            matrix = matrix[:, None] if matrix.ndim == 1 else matrix
        values = matrix @ fe
        if isinstance(exog, pd.DataFrame | pd.Series):
            return pd.Series(values, index=exog.index)
        return values

    # -- reports and profiles -------------------------------------------------------------
    def summary(
        self, yname=None, xname_fe=None, xname_re=None, title=None, alpha: float = 0.05
    ) -> MixedLMSummary:
        """One table of fixed effects and variance parameters, in statsmodels' layout.

        statsmodels' ``summary2.Summary`` when statsmodels is importable (``as_text``,
        ``as_html``, ``as_latex``, ``tables``), else a :class:`MixedLMSummary`.
        """
        return build_summary(self, yname, xname_fe, xname_re, title, alpha)

    def __str__(self) -> str:
        return str(self.summary())

    def __repr__(self) -> str:
        return f"<MixedLMResults {self.method}: llf {self.llf:.4f}, nobs {self.nobs}>"
