"""Variance inflation factors of the fixed effects, as ``performance::check_collinearity``.

For each model term, the generalised VIF of Fox & Monette (1992) computed from the
correlation matrix ``R`` of the fixed-effect estimates without the intercept:
``det(R_tt) det(R_-t-t) / det(R)``; one value per term, whatever its number of columns.
Intervals: Marcoulides et al. (2019), on the logit of ``1 - 1/VIF`` with ``n`` observations
and ``p`` fixed effects.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats as sps

from mixedmodels.inference.anova_tables import term_label
from mixedmodels.inference.terms import term_columns

__all__ = ["vif"]

COLUMNS = [
    "Term",
    "VIF",
    "VIF_CI_low",
    "VIF_CI_high",
    "SE_factor",
    "Tolerance",
    "Tolerance_CI_low",
    "Tolerance_CI_high",
]


def vif(result, ci: float = 0.95) -> pd.DataFrame:
    """Variance inflation factor of every fixed-effect term (performance's table).

    Parameters
    ----------
    result
        A fitted model (``vcov``, ``fixef``, ``nobs`` and the fixed design are used).
    ci
        Level of the intervals.

    Returns
    -------
    pandas.DataFrame
        ``Term``, ``VIF``, ``VIF_CI_low``, ``VIF_CI_high``, ``SE_factor`` (sqrt of VIF),
        ``Tolerance`` (1/VIF) and its interval; empty (with a warning) for fewer than two
        terms.
    """
    names = list(result.fixef.index)
    V = np.asarray(result.vcov, dtype=float)
    terms = term_columns(result)
    keep = np.arange(len(names))
    if "(Intercept)" in names:
        keep = keep[keep != names.index("(Intercept)")]
    else:
        warnings.warn("the model has no intercept: VIFs may not be sensible", UserWarning, 2)
    if len(terms) < 2:
        warnings.warn(
            "fewer than two fixed-effect terms: there is no collinearity to check",
            UserWarning,
            stacklevel=2,
        )
        return pd.DataFrame(columns=COLUMNS)
    position = {int(j): i for i, j in enumerate(keep)}
    sd = np.sqrt(np.diag(V)[keep])
    R = V[np.ix_(keep, keep)] / np.outer(sd, sd)
    det_all = np.linalg.det(R)
    labels: list[str] = []
    found: list[float] = []
    for term in terms:
        subs = [position[c] for c in term.columns if c in position]
        if not subs:
            continue
        rest = [i for i in range(len(keep)) if i not in subs]
        inner = np.linalg.det(R[np.ix_(subs, subs)])
        outer = np.linalg.det(R[np.ix_(rest, rest)]) if rest else 1.0
        labels.append(term_label(term.name))
        found.append(inner * outer / det_all)
    values = np.asarray(found)
    n, p = result.nobs, len(names)
    r = 1.0 - 1.0 / values
    z = sps.norm.ppf((1.0 + ci) / 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt((1.0 - r**2) ** 2 * (n - p - 1) ** 2 / ((n**2 - 1) * (n + 3)))
        se_log = se / (r * (1.0 - r))
        logit = sps.logistic.ppf(r)
        ci_low = sps.logistic.cdf(logit - z * se_log)
        ci_high = sps.logistic.cdf(logit + z * se_log)
        table = pd.DataFrame(
            {
                "Term": labels,
                "VIF": values,
                "VIF_CI_low": 1.0 / (1.0 - ci_low),
                "VIF_CI_high": 1.0 / (1.0 - ci_high),
                "SE_factor": np.sqrt(values),
                "Tolerance": 1.0 / values,
                "Tolerance_CI_low": 1.0 - ci_high,
                "Tolerance_CI_high": 1.0 - ci_low,
            }
        )
    return table
