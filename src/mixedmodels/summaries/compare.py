"""Several fits side by side, as ``performance::compare_performance``.

Information criteria use the maximum-likelihood log-likelihood, as performance does for
mixed models: for a REML fit, the ML deviance at the REML estimates (lme4's
``logLik(fit, REML = FALSE)``). Weights are Akaike weights, ``exp(-delta / 2)`` normalised.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mixedmodels.errors import InferenceError
from mixedmodels.summaries.r2 import icc, r2_nakagawa

__all__ = ["compare"]


def _weights(values: np.ndarray) -> np.ndarray:
    delta = values - np.min(values)
    w = np.exp(-0.5 * delta)
    return w / np.sum(w)


def compare(*results, names=None) -> pd.DataFrame:
    """AIC, AICc, BIC with their weights, R2, ICC, RMSE and sigma for several fits.

    Parameters
    ----------
    *results
        Fitted models (of the same response, for the weights to mean anything).
    names
        Row labels; ``m1``, ``m2``, ... by default.

    Returns
    -------
    pandas.DataFrame
        One row per fit: ``AIC``, ``AIC_wt``, ``AICc``, ``AICc_wt``, ``BIC``, ``BIC_wt``,
        ``R2_conditional``, ``R2_marginal``, ``ICC`` (adjusted), ``RMSE`` (of the conditional
        residuals) and ``Sigma``.
    """
    if not results:
        raise InferenceError("compare needs at least one fitted model")
    names = [f"m{i + 1}" for i in range(len(results))] if names is None else list(names)
    if len(names) != len(results):
        raise InferenceError(f"{len(names)} names for {len(results)} fits")
    rows = []
    for fit in results:
        k = fit.df
        n = fit.nobs
        deviance = fit.deviance  # ML deviance (at the REML estimates for REML fits)
        r2 = r2_nakagawa(fit)
        rows.append(
            {
                "AIC": deviance + 2.0 * k,
                "AICc": deviance + 2.0 * k + 2.0 * k * (k + 1) / (n - k - 1),
                "BIC": deviance + k * np.log(n),
                "R2_conditional": r2["R2_conditional"],
                "R2_marginal": r2["R2_marginal"],
                "ICC": icc(fit)["ICC_adjusted"],
                "RMSE": float(np.sqrt(np.mean(np.asarray(fit.residuals) ** 2))),
                "Sigma": float(fit.sigma),
            }
        )
    table = pd.DataFrame(rows, index=pd.Index(names, name="Name"))
    for column in ("AIC", "AICc", "BIC"):
        table.insert(table.columns.get_loc(column) + 1, f"{column}_wt", _weights(table[column]))
    return table
