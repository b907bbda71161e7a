"""Tidy tables of a fit, as R's broom.mixed: ``tidy``, ``glance`` and ``augment``.

- ``tidy(effects="fixed")``: estimate, standard error, t statistic and (with a df method)
  df and p-value per coefficient, with confidence limits on request (t quantiles with those
  df, normal ones without) — broom.mixed on an lmerTest fit.
- ``tidy(effects="ran_pars")``: standard deviations and correlations (``scales="sdcor"``) or
  variances and covariances (``"vcov"``), named ``sd__x``, ``cor__x.y``, ``sd__Observation``;
  the terms of one group in the column-wise lower triangle.
- ``tidy(effects="ran_vals")``: conditional modes and their conditional standard deviations.
- ``glance``: one row of fit statistics. ``augment``: fitted values, residuals, leverage and
  Cook's distance per observation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from mixedmodels.errors import InferenceError
from mixedmodels.influence import cooks_distance, leverage

__all__ = ["tidy", "glance", "augment"]

_EFFECTS = ("fixed", "ran_pars", "ran_vals")


def _is_glmm(result) -> bool:
    family = getattr(result, "family", None)
    return family is not None and str(getattr(family, "name", family)).lower() != "gaussian"


def _fixed(result, conf_int: bool, conf_level: float, ddf: str | None) -> pd.DataFrame:
    if _is_glmm(result):  # broom.mixed on glmer: Wald z tests and normal limits
        estimate = np.asarray(result.fixef, dtype=float)
        se = np.sqrt(np.diag(np.asarray(result.vcov, dtype=float)))
        z = estimate / se
        table = pd.DataFrame(
            {
                "estimate": estimate,
                "std.error": se,
                "statistic": z,
                "p.value": 2.0 * sps.norm.sf(np.abs(z)),
            },
            index=result.fixef.index,
        )
        quantile = np.full(len(table), sps.norm.ppf(0.5 + conf_level / 2.0))
    elif ddf is None:
        estimate = result.fixef.to_numpy()
        se = result.se.to_numpy()
        table = pd.DataFrame(
            {"estimate": estimate, "std.error": se, "statistic": estimate / se},
            index=result.fixef.index,
        )
        quantile = np.full(len(table), sps.norm.ppf(0.5 + conf_level / 2.0))
    else:
        from mixedmodels.inference.tests import coef_table

        coefs = coef_table(result, ddf=ddf)
        table = pd.DataFrame(
            {
                "estimate": coefs["Estimate"],
                "std.error": coefs["Std. Error"],
                "statistic": coefs["t value"],
                "df": coefs["df"],
                "p.value": coefs["Pr(>|t|)"],
            }
        )
        quantile = sps.t.ppf(0.5 + conf_level / 2.0, coefs["df"].to_numpy())
    if conf_int:
        table["conf.low"] = table["estimate"] - quantile * table["std.error"]
        table["conf.high"] = table["estimate"] + quantile * table["std.error"]
    table.insert(0, "term", table.index)
    table.insert(0, "effect", "fixed")
    return table.reset_index(drop=True)


def _ran_pars(result, scales: str) -> pd.DataFrame:
    if scales not in ("sdcor", "vcov"):
        raise InferenceError(f"scales must be 'sdcor' or 'vcov', got {scales!r}")
    prefix = ("sd", "cor") if scales == "sdcor" else ("var", "cov")
    vc = result.varcorr
    rows = []
    for group in dict.fromkeys(vc["grp"]):
        part = vc[vc["grp"] == group]
        if group == "Residual":
            rows.append(("Residual", f"{prefix[0]}__Observation", float(part[scales].iloc[0])))
            continue
        variables = list(part.loc[part["var2"].isna(), "var1"])
        for j, first in enumerate(variables):  # column-wise lower triangle
            for second in variables[j:]:
                if second == first:
                    value = part.loc[(part["var1"] == first) & part["var2"].isna(), scales]
                    rows.append((group, f"{prefix[0]}__{first}", float(value.iloc[0])))
                else:
                    value = part.loc[(part["var1"] == first) & (part["var2"] == second), scales]
                    if value.empty:  # a structure lists its own correlations (ar1: one rho)
                        continue
                    rows.append((group, f"{prefix[1]}__{first}.{second}", float(value.iloc[0])))
    table = pd.DataFrame(rows, columns=["group", "term", "estimate"])
    table.insert(0, "effect", "ran_pars")
    return table


def _ran_vals(result) -> pd.DataFrame:
    table = result.ranef_table.rename(columns={"condval": "estimate", "condsd": "std.error"})
    table = table[["group", "level", "term", "estimate", "std.error"]].copy()
    table["level"] = table["level"].astype(str)
    table.insert(0, "effect", "ran_vals")
    return table


def tidy(
    result,
    effects: str | Sequence[str] = ("fixed", "ran_pars"),
    conf_int: bool = False,
    conf_level: float = 0.95,
    ddf: str | None = "Satterthwaite",
    scales: str = "sdcor",
) -> pd.DataFrame:
    """A tidy table of the fit's estimates (broom.mixed's ``tidy``).

    Parameters
    ----------
    result
        A fitted model.
    effects
        ``"fixed"``, ``"ran_pars"``, ``"ran_vals"`` or several of them (rows stacked in that
        order, with an ``effect`` column).
    conf_int, conf_level
        Confidence limits of the fixed effects and their level.
    ddf
        ``"Satterthwaite"`` (default, as broom.mixed on an lmerTest fit), ``"Kenward-Roger"``
        (adjusted standard errors, as lmerTest) or None (no df and p-values, normal limits,
        as broom.mixed on an lme4 fit). A GLMM gets Wald z tests and normal limits, as
        broom.mixed on a glmer fit.
    scales
        ``"sdcor"`` or ``"vcov"`` for ``ran_pars``.

    Returns
    -------
    pandas.DataFrame
    """
    wanted = [effects] if isinstance(effects, str) else list(effects)
    unknown = [e for e in wanted if e not in _EFFECTS]
    if unknown or not wanted:
        raise InferenceError(f"effects must be among {', '.join(_EFFECTS)}, got {effects!r}")
    if not 0.0 < conf_level < 1.0:
        raise InferenceError(f"conf_level must be between 0 and 1, got {conf_level!r}")
    parts = []
    for effect in wanted:
        if effect == "fixed":
            parts.append(_fixed(result, conf_int, conf_level, ddf))
        elif effect == "ran_pars":
            parts.append(_ran_pars(result, scales))
        else:
            parts.append(_ran_vals(result))
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def glance(result) -> pd.DataFrame:
    """One row of fit statistics (broom.mixed's ``glance``).

    Columns ``nobs``, ``sigma``, ``logLik``, ``AIC``, ``BIC``, ``REMLcrit`` (REML fits) or
    ``deviance`` (ML fits) and ``df.residual`` (observations minus parameters).
    """
    row = {
        "nobs": result.nobs,
        "sigma": float(result.sigma),
        "logLik": float(result.loglik),
        "AIC": float(result.aic),
        "BIC": float(result.bic),
    }
    if result.reml:
        row["REMLcrit"] = float(result.reml_criterion)
    else:
        row["deviance"] = float(result.deviance)
    row["df.residual"] = result.nobs - result.df
    return pd.DataFrame([row])


def _leverage(result) -> tuple[np.ndarray, np.ndarray]:
    """Leverage and Cook's distance (lme4's ``hatvalues`` and ``cooks.distance``)."""
    return leverage(result).to_numpy(), cooks_distance(result).to_numpy()


def augment(result, data: pd.DataFrame | None = None) -> pd.DataFrame:
    """The data with per-observation fit quantities (broom.mixed's ``augment``).

    Parameters
    ----------
    result
        A fitted model.
    data
        The data the model was fitted to (the fit's own by default); only the rows used are
        kept.

    Returns
    -------
    pandas.DataFrame
        The data's columns, then ``.fitted``, ``.resid``, ``.hat`` (leverage), ``.cooksd``,
        ``.fixed`` (the fixed part), ``.mu``, ``.offset``, ``.weights`` and ``.wtres``.
        A glmer fit gets broom.mixed's GLMM columns
        (:func:`mixedmodels.summaries.augment_glmm.augment_glmm`).
    """
    from mixedmodels.inference.glmm_lrt import is_glmm

    if is_glmm(result):
        from mixedmodels.summaries.augment_glmm import augment_glmm

        return augment_glmm(result, data)
    index = result.design.row_index
    if data is None:
        data = getattr(result.model, "frame", None)
    frame = pd.DataFrame(index=index) if data is None else data.loc[index].copy()
    fitted = np.asarray(result.fitted, dtype=float)
    resid = np.asarray(result.residuals, dtype=float)
    design = result.design
    weights = np.ones(len(index)) if design.weights is None else np.asarray(design.weights)
    offset = np.zeros(len(index)) if design.offset is None else np.asarray(design.offset)
    hat, cooks = _leverage(result)
    frame[".fitted"] = fitted
    frame[".resid"] = resid
    frame[".hat"] = hat
    frame[".cooksd"] = cooks
    frame[".fixed"] = np.asarray(result.predict(re_form="~0"), dtype=float)
    frame[".mu"] = fitted
    frame[".offset"] = offset
    frame[".weights"] = weights
    frame[".wtres"] = resid * np.sqrt(weights)
    return frame
