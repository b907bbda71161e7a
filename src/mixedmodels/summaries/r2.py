"""Nakagawa's marginal and conditional R2 and the intraclass correlation, as performance.

Nakagawa, Johnson & Schielzeth (2017) with Johnson's (2014) random-slope variance, as
``insight::get_variance`` computes them for a linear mixed model:

- fixed: the sample variance (denominator n - 1) of the fixed part ``X beta`` over the rows;
- random: for every random-effect term with covariance ``Sigma`` and columns ``z_i``, the mean
  over the rows of ``z_i' Sigma z_i`` (``Sigma`` itself for an intercept), summed over terms;
- residual: ``sigma^2``.

``R2_marginal = fixed / total``, ``R2_conditional = (fixed + random) / total``; the adjusted
ICC is ``random / (random + residual)``, the unadjusted one ``random / total``.

insight takes a term's columns from the fixed-effects matrix by name, so a random slope on a
variable absent from the fixed part is left out there; here each term's own columns are used
(the same whenever the slope's variable is also a fixed effect, as in every model of the
reference tests).
"""

from __future__ import annotations

import numpy as np

from mixedmodels.summaries.components import VarianceComponents
from mixedmodels.summaries.r2_glmm import glmm_variance_components

__all__ = ["VarianceComponents", "variance_components", "r2_nakagawa", "icc"]


def _term_covariances(result):
    """(label, covariance, columns over the rows) for every random-effect term."""
    design = result.design
    sigma2 = float(result.sigma) ** 2
    labels = result._group_labels()
    out = []
    for term, label in zip(design.terms, labels, strict=True):
        block = next(b for b in design.blocks if term in b.terms)
        offset = block.column_offsets[block.terms.index(term)]
        lam = result._term_lambda(term)
        cov = sigma2 * lam @ lam.T
        Z = np.asarray(block.matrix, dtype=float)[:, offset : offset + term.size]
        out.append((label, cov, Z))
    return out


def _is_glmm(result) -> bool:
    from mixedmodels.inference.glmm_lrt import is_glmm

    return is_glmm(result)


def variance_components(result, **glmm_options) -> VarianceComponents:
    """Fixed, random and residual variances of a mixed model (insight's definitions).

    A GLMM (``result.family`` not Gaussian) takes ``null=`` and ``approximation=``: see
    :func:`mixedmodels.summaries.r2_glmm.glmm_variance_components`.
    """
    if _is_glmm(result):
        return glmm_variance_components(result, **glmm_options)
    X = np.asarray(result.design.X, dtype=float)
    eta = X @ np.asarray(result.fixef, dtype=float)
    fixed = float(np.var(eta, ddof=1))
    by_term = {}
    for label, cov, Z in _term_covariances(result):
        by_term[label] = float(np.mean(np.einsum("ni,ij,nj->n", Z, cov, Z)))
    residual = float(result.sigma) ** 2
    return VarianceComponents(
        fixed=fixed,
        random=float(sum(by_term.values())),
        residual=residual,
        by_term=by_term,
        distribution=residual,
    )


def r2_nakagawa(result, **glmm_options) -> dict[str, float]:
    """Nakagawa's marginal and conditional R2 (``performance::r2_nakagawa``).

    Of a GLMM too, with the distribution-specific variance on the link scale
    (:mod:`mixedmodels.summaries.r2_glmm`; ``approximation=`` for a Poisson log-link fit).

    Returns
    -------
    dict
        ``{"R2_conditional": ..., "R2_marginal": ...}``.

    Examples
    --------
    >>> import mixedmodels as mm
    >>> fit = mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))
    >>> {k: round(v, 3) for k, v in r2_nakagawa(fit).items()}
    {'R2_conditional': 0.799, 'R2_marginal': 0.279}
    """
    v = variance_components(result, **glmm_options)
    if np.isnan(v.random):
        _warn_no_random("the conditional R2")
        return {"R2_conditional": np.nan, "R2_marginal": v.fixed / (v.fixed + v.residual)}
    return {
        "R2_conditional": (v.fixed + v.random) / v.total,
        "R2_marginal": v.fixed / v.total,
    }


def _warn_no_random(what: str) -> None:
    from mixedmodels._warn import warn

    warn(
        f"{what} needs the random-effect variances, and a variance parameter of this fit is "
        "(nearly) zero (a singular fit): NaN, as performance gives",
        UserWarning,
    )


def icc(result, **glmm_options) -> dict[str, float]:
    """Adjusted and unadjusted intraclass correlation (``performance::icc``).

    Of a GLMM too (see :func:`r2_nakagawa`); NaN for a singular GLMM fit, as performance.

    Returns
    -------
    dict
        ``{"ICC_adjusted": random / (random + residual), "ICC_unadjusted": random / total}``.
    """
    v = variance_components(result, **glmm_options)
    if np.isnan(v.random):
        _warn_no_random("the ICC")
        return {"ICC_adjusted": np.nan, "ICC_unadjusted": np.nan}
    return {
        "ICC_adjusted": v.random / (v.random + v.residual),
        "ICC_unadjusted": v.random / v.total,
    }
