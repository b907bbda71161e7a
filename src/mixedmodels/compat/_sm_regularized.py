"""``MixedLM.fit_regularized``: fixed effects shrunk by an L1 penalty, as statsmodels does it.

statsmodels first fits the model without a penalty; the variance parameters stay at that
fit's values. With ``V`` the marginal covariance there (data scale), it then minimises
``(y - X b)' V^-1 (y - X b) + sum_j alpha_j |b_j|`` over the fixed effects by cyclic
coordinate descent ("shooting"): each sweep sets every coefficient that is not already zero
(``|b_j| >= ceps``) to its soft-thresholded conditional minimiser; sweeps stop when no
coefficient moves by ``ptol`` (at most ``maxit`` sweeps). A coefficient that reaches zero
stays zero. The result reports those fixed effects with the unpenalised fit's ``cov_re``,
``vcomp`` and packed variance parameters, the residual variance at the new fixed effects
(the random effects are predicted with these ``cov_re``, ``vcomp`` and ``scale``),
and standard errors from statsmodels' Hessian there, on the fixed effects that are not zero
and every variance parameter (NaN elsewhere). ``method`` given as a smooth ``Penalty``
object is ``fit(fe_pen=method)`` with the penalty's ``alpha`` set.

Where statsmodels 0.15 differs (documented in docs/statsmodels.md): it fails on a formula
model (a pandas ``KeyError``), reads the variance parameters as Cholesky entries in the
Hessian when ``use_sqrt`` is True, and evaluates ``llf`` with ``cov_re`` on the data scale
where its log-likelihood expects it relative to the scale; here the Hessian and ``llf`` are
statsmodels' formulas at the estimates in their own parameterisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mixedmodels.compat._sm_derivatives import derivatives
from mixedmodels.compat._sm_inference import Information
from mixedmodels.compat._sm_likelihood import evaluate, profile_scale
from mixedmodels.compat._sm_results import MixedLMResults
from mixedmodels.errors import DesignError

if TYPE_CHECKING:
    from mixedmodels.compat._sm_model import MixedLM

__all__ = ["RegularizedResults", "fit_regularized", "shooting"]


def shooting(
    xvx: np.ndarray,
    xvy: np.ndarray,
    start: np.ndarray,
    alpha: np.ndarray,
    ceps: float,
    ptol: float,
    maxit: int,
) -> np.ndarray:
    """statsmodels' coordinate descent for ``b'Ab - 2 b'c + sum alpha_j |b_j|``.

    ``xvx`` is ``A = X'V^-1X`` and ``xvy`` is ``c = X'V^-1y`` (``V`` on the data scale).
    """
    fe = np.array(start, dtype=float, copy=True)
    for _ in range(maxit):
        before = fe.copy()
        for j in range(fe.size):
            if abs(fe[j]) < ceps:
                continue
            fe[j] = 0.0
            a = xvx[j, j]
            b = -2.0 * (xvy[j] - xvx[j] @ fe)  # the loss is a x^2 + b x + alpha_j |x|
            if b > alpha[j]:
                fe[j] = -(b - alpha[j]) / (2 * a)
            elif b < -alpha[j]:
                fe[j] = -(b + alpha[j]) / (2 * a)
        if np.abs(before - fe).max() < ptol:
            break
    return fe


@dataclass(frozen=True, eq=False)
class RegularizedResults(MixedLMResults):
    """``fit_regularized``'s results: shrunk fixed effects, the unpenalised fit's variances.

    Attributes
    ----------
    unpenalised
        The fit without a penalty that gave the variance parameters.
    fe_shrunk
        The fixed effects of the L1 fit.
    pcov_shrunk
        Covariance of ``params`` (NaN in the rows of fixed effects set to zero).
    """

    unpenalised: MixedLMResults | None = None
    fe_shrunk: np.ndarray | None = None
    pcov_shrunk: np.ndarray | None = None

    @cached_property
    def fe_params(self) -> pd.Series | np.ndarray:
        """The shrunk fixed effects."""
        return self._vector(self.fe_shrunk, self.model.exog_names)

    @cached_property
    def scale(self) -> float:
        """Residual variance at the shrunk fixed effects (the unpenalised variances)."""
        assert self.unpenalised is not None
        pa = self.unpenalised.params_object
        ev = evaluate(self.model._stats, pa.cov_re, pa.vcomp)
        return profile_scale(ev, np.asarray(self.fe_shrunk), self.nobs, self.reml)

    @cached_property
    def cov_re(self) -> pd.DataFrame:
        """The unpenalised fit's ``cov_re`` (statsmodels keeps it)."""
        assert self.unpenalised is not None
        return self.unpenalised.cov_re

    @cached_property
    def vcomp(self) -> np.ndarray:
        """The unpenalised fit's variance components."""
        assert self.unpenalised is not None
        return self.unpenalised.vcomp

    @cached_property
    def llf(self) -> float:
        """Log-likelihood at the shrunk fixed effects and the unpenalised variances."""
        assert self.unpenalised is not None
        pa = self.unpenalised.params_object
        return self.model._loglike_at(np.asarray(self.fe_shrunk), pa.cov_re, pa.vcomp, False)

    @property
    def converged(self) -> bool:
        """True, as statsmodels reports."""
        return True

    @cached_property
    def _information(self) -> Information:
        assert self.unpenalised is not None
        assert self.pcov_shrunk is not None
        return Information(pcov=self.pcov_shrunk, cov_abs=self.unpenalised._information.cov_abs)

    @cached_property
    def _group_design(self) -> list[tuple[np.ndarray, list[str], np.ndarray, np.ndarray]]:
        """The plain fit's designs, the covariance factors relative to the new scale.

        statsmodels predicts the random effects with the unpenalised ``cov_re`` and
        ``vcomp`` and the new ``scale``.
        """
        assert self.unpenalised is not None
        ratio = np.sqrt(self.unpenalised.scale / self.scale)
        plain = MixedLMResults._group_design.func(self)  # type: ignore[attr-defined]
        return [(rows, names, z, ratio * lam) for rows, names, z, lam in plain]

    @cached_property
    def fittedvalues(self) -> pd.Series | np.ndarray:
        """``X fe_params`` plus every group's predicted random effects."""
        layout = self.model.layout
        fitted = layout.exog @ np.asarray(self.fe_shrunk)
        for label, (rows, _, z, _) in zip(self.model.group_labels, self._group_design, strict=True):
            fitted[rows] += z @ self.random_effects[label].to_numpy()
        return self._rows(fitted)


def fit_regularized(
    model: MixedLM,
    method="l1",
    alpha=0,
    ceps: float = 1e-4,
    ptol: float = 1e-6,
    maxit: int = 200,
    **fit_kwargs,
):
    """statsmodels' ``fit_regularized`` (see the module notes)."""
    if isinstance(method, str):
        if method.lower() != "l1":
            raise ValueError("Invalid regularization method")
    elif hasattr(method, "func") and hasattr(method, "deriv"):  # a smooth Penalty object
        method.alpha = alpha
        return model.fit(fe_pen=method, **fit_kwargs)
    else:
        raise ValueError("Invalid regularization method")
    weights = np.asarray(alpha, dtype=float)
    weights = np.full(model.k_fe, float(weights)) if weights.ndim == 0 else weights.ravel()
    if weights.size != model.k_fe:
        raise DesignError(f"alpha must be a scalar or have {model.k_fe} entries")
    fit = model.fit(**fit_kwargs)
    pa = fit.params_object
    ev = evaluate(model._stats, pa.cov_re, pa.vcomp)
    fe = shooting(
        ev.xvx / fit.scale,
        ev.xvy / fit.scale,
        np.asarray(fit.fe_params, dtype=float),
        weights,
        ceps,
        ptol,
        maxit,
    )
    hess = derivatives(model._stats, pa.cov_re, pa.vcomp, fe, model.reml, hessian=True).hessian
    assert hess is not None
    keep = np.abs(np.concatenate([fe, np.asarray(fit.params)[model.k_fe :]])) > ceps
    keep[model.k_fe :] = True
    index = np.flatnonzero(keep)
    pcov = np.full(hess.shape, np.nan)
    pcov[np.ix_(index, index)] = np.linalg.inv(-hess[np.ix_(index, index)])
    return RegularizedResults(
        model=fit.model,
        lmer_result=fit.lmer_result,
        pmap=fit.pmap,
        freepat=fit.freepat,
        fixed=fit.fixed,
        constrained=fit.constrained,
        penalties=fit.penalties,
        unpenalised=fit,
        fe_shrunk=fe,
        pcov_shrunk=pcov,
    )
