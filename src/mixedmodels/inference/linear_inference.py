"""The covariance and denominator df of linear functions ``L beta`` of a fit, as emmeans.

Kenward-Roger by default, Satterthwaite on request or for ML and weighted fits,
asymptotic (z) for models that are not linear mixed models; estimability of rank-deficient X.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from mixedmodels.errors import InferenceError

__all__ = ["LinearInference"]


_DDF = {
    "kenward-roger": "Kenward-Roger",
    "kr": "Kenward-Roger",
    "satterthwaite": "Satterthwaite",
    "asymptotic": "asymptotic",
}


@dataclass(frozen=True, eq=False)
class LinearInference:
    """Covariance and df of linear functions ``L beta`` under one df method.

    Attributes
    ----------
    result
        The fit.
    method
        ``"Kenward-Roger"``, ``"Satterthwaite"`` or ``"asymptotic"``.
    notes
        Why another method than the one asked for is used, if it is.
    """

    result: Any  # a fit (LmerResult, GlmerResult) or a regridded grid's estimates
    method: str
    notes: tuple[str, ...] = ()
    aliasing: Any = None  # mixedmodels.inference.estimability.Aliasing of a deficient X

    @classmethod
    def for_fit(cls, result, ddf: str | None) -> LinearInference:
        """emmeans' choice: Kenward-Roger unless asked otherwise or unavailable."""
        key = "kenward-roger" if ddf is None else str(ddf).strip().lower().replace("_", "-")
        if key not in _DDF:
            raise InferenceError(
                f"ddf must be 'Kenward-Roger', 'Satterthwaite' or 'asymptotic', got {ddf!r}"
            )
        method = _DDF[key]
        if not _is_linear_mixed(result):
            if method != "asymptotic" and ddf is not None:
                raise InferenceError(f"{method} df are only defined for linear mixed models")
            return cls(result, "asymptotic")
        if method == "Kenward-Roger" and (not result.reml or result.design.weighted):
            why = "an ML fit" if not result.reml else "a fit with prior weights"
            note = f"Kenward-Roger is not available for {why}: Satterthwaite df used"
            return cls(result, "Satterthwaite", (note,))
        return cls(result, method)

    @cached_property
    def vcov(self) -> np.ndarray:
        """The covariance used for standard errors (Kenward-Roger's adjusted one for KR)."""
        if self.method == "Kenward-Roger":
            from mixedmodels.inference.kenward_roger import kenward_roger_info

            return kenward_roger_info(self.result).vcov_adjusted
        return np.asarray(self.result.vcov, dtype=float)

    def df(self, L: np.ndarray) -> np.ndarray:
        """Denominator df of every row of ``L`` (NaN for a row of NaN: not estimable)."""
        L = np.atleast_2d(L)
        if self.method == "asymptotic":
            return np.where(np.isfinite(L).all(axis=1), np.inf, np.nan)
        L = np.where(np.isfinite(L), L, 0.0)
        if self.method == "Kenward-Roger":
            from mixedmodels.inference.kenward_roger import kenward_roger_info

            kr = kenward_roger_info(self.result)
            return np.array([kr.df(row) if np.any(row) else np.nan for row in L])
        from mixedmodels.inference.satterthwaite import contrast_df, satterthwaite_info

        info = satterthwaite_info(self.result)
        return np.array([contrast_df(info, row) if np.any(row) else np.nan for row in L])

    def estimate(self, L: np.ndarray, estimable: np.ndarray | None = None) -> pd.DataFrame:
        """Estimate, SE and df of every row of ``L``; NaN where ``estimable`` is False."""
        L = np.asarray(L, dtype=float)
        if estimable is not None:
            L = np.where(np.asarray(estimable)[:, None], L, np.nan)
        beta = np.asarray(self.result.fixef, dtype=float)
        se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", L, self.vcov, L), 0.0))
        return pd.DataFrame({"estimate": L @ beta, "SE": se, "df": self.df(L)})

    def covariance(self, L: np.ndarray, estimable: np.ndarray | None = None) -> np.ndarray:
        """``L V L'``: the covariance of the estimates (for the mvt adjustment).

        NaN in the rows and columns of those not ``estimable``.
        """
        cov = L @ self.vcov @ L.T
        if estimable is not None:
            bad = ~np.asarray(estimable)
            cov[bad, :] = np.nan
            cov[:, bad] = np.nan
        return cov

    def estimable(self, L_full: np.ndarray | None) -> np.ndarray | None:
        """emmeans' estimability of rows in the full coefficient space (None: all are)."""
        if self.aliasing is None or L_full is None:
            return None
        return self.aliasing.estimable(L_full)


@dataclass(frozen=True)
class _Regridded:
    """Means on the response scale and their covariance: the 'fit' of a regridded grid."""

    fixef: pd.Series
    vcov: pd.DataFrame
    family: object = None


def _is_linear_mixed(result) -> bool:
    family = getattr(result, "family", None)
    name = getattr(family, "name", family)
    return family is None or str(name).lower() == "gaussian"
