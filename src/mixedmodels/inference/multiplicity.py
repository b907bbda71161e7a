"""Multiplicity adjustments of p-values and confidence levels, as emmeans applies them.

A *family* is the set of estimates adjusted together: one ``by`` group of marginal means or of
contrasts. ``tukey`` uses the studentized range (for one set of pairwise comparisons only;
anything else falls back to ``sidak`` as emmeans does, with a note), ``dunnettx`` is emmeans'
close approximation to Dunnett's distribution (comparisons with a control), ``sidak`` and
``bonferroni`` adjust both p-values and intervals, ``holm`` and ``fdr`` (``BH``) adjust
p-values and use Bonferroni intervals, ``mvt`` uses the multivariate t distribution of the
family's estimates (their correlation; emmeans' default for ``consec`` contrasts, exact where
``tukey`` and ``dunnettx`` are special cases), ``none`` adjusts nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import optimize
from scipy import stats as sps

from mixedmodels.errors import InferenceError
from mixedmodels.inference._tukey import ptukey, qtukey
from mixedmodels.options import choose

__all__ = ["ADJUSTMENTS", "Adjust", "Family", "validate_adjust", "adjust_p", "critical_values"]

Adjust = Literal["tukey", "dunnettx", "mvt", "sidak", "bonferroni", "holm", "fdr", "none"]
ADJUSTMENTS: tuple[str, ...] = (
    "tukey",
    "dunnettx",
    "mvt",
    "sidak",
    "bonferroni",
    "holm",
    "fdr",
    "none",
)
_ALIASES = {"bh": "fdr", "bonf": "bonferroni", "dunnett": "dunnettx"}


def validate_adjust(adjust: str) -> str:
    """The canonical name of an adjustment method (case-insensitive; ``BH`` is ``fdr``)."""
    return choose("adjust", adjust, Adjust, aliases=_ALIASES, error=InferenceError)


@dataclass(frozen=True)
class Family:
    """How the rows of a table fall into families.

    Attributes
    ----------
    groups
        Row indices of every family (one ``by`` group each).
    n_means
        Number of means compared (the studentized range's size for ``tukey``).
    pairwise
        Whether the family is one set of pairwise comparisons (where ``tukey`` applies).
    """

    groups: tuple[tuple[int, ...], ...]
    n_means: int
    pairwise: bool

    @property
    def size(self) -> int:
        """Number of estimates per family (the largest, for unequal groups)."""
        return max((len(g) for g in self.groups), default=0)


def effective_adjust(adjust: str, family: Family) -> tuple[str, str | None]:
    """The method actually applied and, when it was changed, emmeans' note saying why."""
    method = validate_adjust(adjust)
    if family.size <= 1:
        return "none", None
    if method == "tukey" and not family.pairwise:
        return "sidak", (
            'adjust = "tukey" was changed to "sidak" because "tukey" is only appropriate '
            "for one set of pairwise comparisons"
        )
    return method, None


def _decimals(largest: float, digits: int) -> int:
    """The decimals R's ``zapsmall`` (R 4.2) keeps: ``round(digits - log10(largest))``.

    R passes the non-integer ``digits - log10(mx)`` to ``round``, which rounds it half up.
    """
    return max(0, int(np.floor(digits - np.log10(largest) + 0.5)))


def _zapsmall(values: np.ndarray, digits: int = 7) -> np.ndarray:
    """R's ``zapsmall``: round to ``digits`` significant digits of the largest entry."""
    finite = values[np.isfinite(values)]
    largest = float(np.max(np.abs(finite))) if finite.size else 0.0
    if largest == 0.0:
        return values
    return np.round(values, _decimals(largest, digits))


def dunnettx_cdf(x: np.ndarray, k: int, df: np.ndarray) -> np.ndarray:
    """emmeans' ``.pdunnx``: a weighted mean of a Tukey and a Sidak probability."""
    weight = (k - 1) / k
    size = (1.0 + np.sqrt(1.0 + 8.0 * k)) / 2.0
    tukey = ptukey(np.sqrt(2.0) * x, size, df)
    sidak = sps.f.cdf(x**2, 1, df) ** k
    return weight * tukey + (1.0 - weight) * sidak


def _p_adjust(p: np.ndarray, method: str) -> np.ndarray:
    """R's ``p.adjust`` for one family, ``n`` its size.

    NaN entries (estimates that are not estimable) stay NaN and count in ``n``, as emmeans
    calls it.
    """
    n = p.size
    out = np.full(n, np.nan)
    finite = np.flatnonzero(~np.isnan(p))
    values = p[finite]
    m = values.size
    if method == "bonferroni":
        out[finite] = np.minimum(1.0, n * values)
        return out
    order = np.argsort(values, kind="stable")
    ranked = values[order]
    if method == "holm":
        adjusted = np.maximum.accumulate((n - np.arange(m)) * ranked)
    else:  # fdr (Benjamini-Hochberg), from the largest down
        steps = n / np.arange(m, 0, -1) * ranked[::-1]
        adjusted = np.minimum.accumulate(steps)[::-1]
    fill = np.empty(m)
    fill[order] = np.minimum(1.0, adjusted)
    out[finite] = fill
    return out


def _correlation(cov: np.ndarray | None, rows: list[int]) -> np.ndarray:
    if cov is None:
        raise InferenceError("the mvt adjustment needs the covariance of the estimates")
    sub = np.asarray(cov, dtype=float)[np.ix_(rows, rows)]
    d = np.sqrt(np.diag(sub))
    return sub / np.outer(d, d)


def _estimated(rows, values: np.ndarray) -> list[int]:
    """The rows of a family with a finite value (the estimable ones)."""
    return [i for i in rows if np.isfinite(values[i])]


def _mvt_p(abs_t, df, family: Family, cov) -> np.ndarray:
    from mixedmodels.inference._mvt import Rectangle, emmeans_df

    out = np.full_like(abs_t, np.nan)
    for rows in family.groups:
        idx = _estimated(rows, abs_t)
        if not idx:
            continue
        rectangle = Rectangle(_correlation(cov, idx))
        for i in idx:
            out[i] = 1.0 - rectangle.coverage(abs_t[i], emmeans_df(df[i]))
    return np.clip(out, 0.0, 1.0)


def _mvt_cv(df, level: float, family: Family, cov) -> np.ndarray:
    from mixedmodels.inference._mvt import Rectangle, emmeans_df

    out = np.full(len(df), np.nan)
    variances = np.diag(np.asarray(cov, dtype=float)) if cov is not None else np.zeros(len(df))
    for rows in family.groups:
        idx = [i for i in rows if np.isfinite(variances[i]) and variances[i] > 0]
        if not idx:
            continue
        rectangle = Rectangle(_correlation(cov, idx))
        cache: dict[float, float] = {}
        for i in idx:
            d = emmeans_df(df[i])
            if d not in cache:
                cache[d] = rectangle.quantile(level, d)
            out[i] = cache[d]
    return out


def adjust_p(
    t: np.ndarray, df: np.ndarray, adjust: str, family: Family, cov: np.ndarray | None = None
) -> tuple[np.ndarray, str, str | None]:
    """Two-sided p-values of t statistics, adjusted within each family.

    ``cov`` (the covariance of the estimates, rows as ``t``) is needed by ``mvt`` only.

    Returns
    -------
    p, method, note
        The adjusted p-values, the method applied and emmeans' note when it was changed.
    """
    t = np.asarray(t, dtype=float)
    df = np.where(np.isnan(df), np.inf, np.asarray(df, dtype=float))
    method, note = effective_adjust(adjust, family)
    abs_t = np.abs(t)
    raw = 2.0 * sps.t.sf(abs_t, df)
    if method == "none":
        return raw, method, note
    out = np.empty_like(raw)
    if method in ("bonferroni", "holm", "fdr"):
        for rows in family.groups:
            idx = list(rows)
            out[idx] = _p_adjust(raw[idx], method)
        return out, method, note
    m = family.size
    if method == "sidak":
        out = 1.0 - (1.0 - raw) ** m
    elif method == "tukey":  # emmeans rounds the df (zapsmall) for ptukey
        out = 1.0 - ptukey(np.sqrt(2.0) * abs_t, family.n_means, _zapsmall(df))
    elif method == "mvt":
        out = _mvt_p(abs_t, df, family, cov)
    else:  # dunnettx
        out = 1.0 - dunnettx_cdf(abs_t, m, df)
    return out, method, note


def _dunnettx_quantile(level: float, k: int, df: float) -> float:
    """emmeans' ``.qdunnx``: the root of ``pdunnx(x) = level`` between Tukey's and Sidak's."""
    if k < 1.005:
        return float(sps.t.ppf(1.0 - 0.5 * (1.0 - level), df))
    size = (1.0 + np.sqrt(1.0 + 8.0 * k)) / 2.0
    low = qtukey(level, size, df) / np.sqrt(2.0)
    high = float(np.sqrt(sps.f.ppf(level ** (1.0 / k), 1, df)))
    if abs(high - low) < 5e-4:
        return low
    return float(
        optimize.brentq(
            lambda x: float(dunnettx_cdf(np.array(x), k, np.array(df))) - level,
            min(low, high),
            max(low, high),
            xtol=1e-12,
        )
    )


def _per_df(df: np.ndarray, quantile) -> np.ndarray:
    """``quantile(d)`` for every entry of ``df``, computed once per distinct value."""
    values = {d: quantile(d) for d in np.unique(df)}
    return np.array([values[d] for d in df], dtype=float)


def critical_values(
    df: np.ndarray, level: float, adjust: str, family: Family, cov: np.ndarray | None = None
) -> tuple[np.ndarray, str, str | None]:
    """Multipliers of the standard error for two-sided intervals, adjusted per family.

    ``holm`` and ``fdr`` get Bonferroni intervals, as in emmeans; ``mvt`` needs ``cov``.
    """
    if not 0.0 < level < 1.0:
        raise InferenceError(f"level must be between 0 and 1, got {level!r}")
    df = np.where(np.isnan(df), np.inf, np.asarray(df, dtype=float))
    method, note = effective_adjust(adjust, family)
    if method in ("holm", "fdr"):
        method = "bonferroni"
    m = family.size
    if method == "none":
        cv = sps.t.ppf(1.0 - (1.0 - level) / 2.0, df)
    elif method == "sidak":
        cv = sps.t.ppf(1.0 - (1.0 - level ** (1.0 / m)) / 2.0, df)
    elif method == "bonferroni":
        cv = sps.t.ppf(1.0 - (1.0 - level) / m / 2.0, df)
    elif method == "tukey":
        cv = _per_df(df, lambda d: qtukey(level, family.n_means, d) / np.sqrt(2.0))
    elif method == "mvt":
        cv = _mvt_cv(df, level, family, cov)
    else:
        cv = _per_df(df, lambda d: _dunnettx_quantile(level, m, d))
    return np.asarray(cv, dtype=float), method, note
