"""t and F tests of fixed effects with Satterthwaite or Kenward-Roger denominator df.

The tables follow lmerTest: ``coef_table`` is ``coef(summary(fit))`` of an lmerTest fit,
``contrast_test`` is ``contestMD`` (one row: Sum Sq, Mean Sq, NumDF, DenDF, F value, Pr(>F)).
"""

from __future__ import annotations

from typing import Literal, cast

import numpy as np
import pandas as pd

from mixedmodels.errors import InferenceError
from mixedmodels.options import choose

__all__ = ["DDF", "validate_ddf", "coef_table", "contrast_test", "contrast_matrix", "f_table_row"]

DDF = Literal["Satterthwaite", "Kenward-Roger"]

_ALIASES: dict[str, str] = {"kenward_roger": "Kenward-Roger", "kr": "Kenward-Roger"}


def validate_ddf(ddf: str) -> DDF:
    """The canonical name of a denominator-df method (case-insensitive aliases accepted).

    Parameters
    ----------
    ddf
        ``"Satterthwaite"`` or ``"Kenward-Roger"`` (also ``"satterthwaite"``, ``"kr"``,
        ``"kenward-roger"``, any case).

    Returns
    -------
    str
        ``"Satterthwaite"`` or ``"Kenward-Roger"``.

    Raises
    ------
    InferenceError
        For any other value.
    """
    return cast(DDF, choose("ddf", ddf, DDF, aliases=_ALIASES, error=InferenceError))


def contrast_matrix(result, L) -> np.ndarray:
    """A ``(rows, p)`` float matrix from a contrast given as array, Series, DataFrame or dict.

    Labelled contrasts (Series index, DataFrame columns, dict keys) are matched to the fixed
    effect names; missing names get weight 0.
    """
    names = list(result.fixef.index)
    if isinstance(L, dict):
        L = pd.Series(L, dtype=float)
    if isinstance(L, pd.Series):
        unknown = [k for k in L.index if k not in names]
        if unknown:
            raise InferenceError(f"unknown fixed effect(s) in L: {', '.join(map(str, unknown))}")
        return L.reindex(names, fill_value=0.0).to_numpy(dtype=float)[None, :]
    if isinstance(L, pd.DataFrame):
        unknown = [k for k in L.columns if k not in names]
        if unknown:
            raise InferenceError(f"unknown fixed effect(s) in L: {', '.join(map(str, unknown))}")
        return L.reindex(columns=names, fill_value=0.0).to_numpy(dtype=float)
    arr = np.asarray(L, dtype=float)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != len(names):
        raise InferenceError(
            f"L must have {len(names)} columns (one per fixed effect: {', '.join(names)}), "
            f"got shape {np.shape(L)}"
        )
    if arr.shape[0] == 0:
        raise InferenceError("L has no rows")
    if not np.isfinite(arr).all():
        raise InferenceError("L has non-finite entries")
    return arr


def _independent_rows(L: np.ndarray, vcov: np.ndarray) -> np.ndarray:
    """Rows ``P'L`` over the eigenvectors of ``L vcov L'`` with non-negligible eigenvalues."""
    VL = L @ vcov @ L.T
    values, vectors = np.linalg.eigh(0.5 * (VL + VL.T))
    order = np.argsort(values)[::-1]
    values, vectors = values[order], vectors[:, order]
    keep = values > max(np.sqrt(np.finfo(float).eps) * values[0], 0.0)
    if not keep.any():
        raise InferenceError("the contrast matrix L has rank 0")
    return vectors[:, keep].T @ L


def f_table_row(result, L: np.ndarray, ddf: DDF) -> dict[str, float]:
    """One row of an F table for ``L beta = 0`` (lmerTest's ``contestMD``)."""
    from scipy import stats as sps

    beta = result.fixef.to_numpy()
    s2 = float(result.sigma) ** 2
    if ddf == "Satterthwaite":
        from mixedmodels.inference.satterthwaite import f_test, satterthwaite_info

        F, q, den = f_test(satterthwaite_info(result), L, beta)
        unscaled = F
    else:
        from mixedmodels.inference.kenward_roger import kenward_roger_info

        info = kenward_roger_info(result)
        F, unscaled, q, den = info.f_test(_independent_rows(L, info.vcov), beta)
    mean_sq = unscaled * s2
    return {
        "Sum Sq": mean_sq * q,
        "Mean Sq": mean_sq,
        "NumDF": q,
        "DenDF": den,
        "F value": F,
        "Pr(>F)": float(sps.f.sf(F, q, den)),
    }


def contrast_test(result, L, ddf: str = "Satterthwaite") -> pd.DataFrame:
    """F test of ``L beta = 0`` with Satterthwaite or Kenward-Roger denominator df.

    Parameters
    ----------
    result
        A fitted :class:`~mixedmodels.results.LmerResult`.
    L
        Contrast vector or matrix (one column per fixed effect), or a labelled Series,
        DataFrame or dict keyed by fixed-effect names.
    ddf
        ``"Satterthwaite"`` (default) or ``"Kenward-Roger"`` (REML fits only).

    Returns
    -------
    pandas.DataFrame
        One row: ``Sum Sq``, ``Mean Sq``, ``NumDF``, ``DenDF``, ``F value``, ``Pr(>F)``.
        Linearly dependent rows of L are dropped (NumDF is the rank of L).

    Examples
    --------
    >>> import mixedmodels as mm
    >>> fit = mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))
    >>> round(float(fit.test([0, 1])["DenDF"].iloc[0]), 2)
    17.0
    """
    method = validate_ddf(ddf)
    row = f_table_row(result, contrast_matrix(result, L), method)
    frame = pd.DataFrame([row])
    frame["NumDF"] = frame["NumDF"].astype(int)
    return frame


def coef_table(result, ddf: str = "Satterthwaite") -> pd.DataFrame:
    """Fixed-effects table with denominator df and p-values (lmerTest's summary table).

    Parameters
    ----------
    result
        A fitted :class:`~mixedmodels.results.LmerResult`.
    ddf
        ``"Satterthwaite"`` (default) or ``"Kenward-Roger"``. With Kenward-Roger the standard
        errors are those of the adjusted covariance, as in lmerTest.

    Returns
    -------
    pandas.DataFrame
        Columns ``Estimate``, ``Std. Error``, ``df``, ``t value``, ``Pr(>|t|)``, one row per
        fixed effect.
    """
    from scipy import stats as sps

    method = validate_ddf(ddf)
    estimate = result.fixef.to_numpy()
    p = estimate.size
    eye = np.eye(p)
    if method == "Satterthwaite":
        from mixedmodels.inference.satterthwaite import contrast_df, satterthwaite_info

        info = satterthwaite_info(result)
        se = np.sqrt(np.diag(info.vcov_beta))
        df = np.array([contrast_df(info, eye[i]) for i in range(p)])
    else:
        from mixedmodels.inference.kenward_roger import kenward_roger_info

        kr = kenward_roger_info(result)
        se = np.sqrt(np.diag(kr.vcov_adjusted))
        df = np.array([kr.df(eye[i]) for i in range(p)])
    t = estimate / se
    return pd.DataFrame(
        {
            "Estimate": estimate,
            "Std. Error": se,
            "df": df,
            "t value": t,
            "Pr(>|t|)": 2.0 * sps.t.sf(np.abs(t), df),
        },
        index=result.fixef.index,
    )
