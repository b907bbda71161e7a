"""Nakagawa's R2 and the ICC of a generalized linear mixed model, as performance computes them.

Nakagawa, Johnson & Schielzeth (2017), with the variances ``insight::get_variance`` (0.19)
gives a glmer fit:

- fixed: the sample variance of ``X beta`` over the rows (offset excluded);
- random: per random-effect term the mean over the rows of ``z_i' Sigma z_i``, summed over the
  terms that are not observation-level;
- dispersion: the same sum over the observation-level terms (a grouping factor with one level
  per observation, the usual remedy for overdispersion);
- distribution-specific variance, on the link scale: binomial ``pi^2 / 3`` (logit), 1
  (probit), ``pi^2 / 6`` (cloglog); Poisson with the sqrt link 0.25, with the log link from the
  mean ``mu = exp(beta_0)`` of the *null model* (the intercept, the same random terms and the
  offset, refitted) by one of Nakagawa's approximations: ``"lognormal"`` ``log(1 + 1/mu)``
  (insight's and so performance's), ``"delta"`` ``1/mu`` or ``"trigamma"`` ``psi_1(mu)``;
- residual = distribution + dispersion.

``R2_marginal = fixed / (fixed + random + residual)``, ``R2_conditional = (fixed + random) /
(...)``, ``ICC_adjusted = random / (random + residual)``, ``ICC_unadjusted = random / total``.
As insight does, a fit with a variance parameter below ``1e-5`` (a singular fit) has no random
variance: its conditional R2 and ICC are NaN (with a warning), its marginal R2 is
``fixed / (fixed + residual)``.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from mixedmodels._warn import warn
from mixedmodels.errors import InferenceError
from mixedmodels.summaries.components import VarianceComponents

__all__ = [
    "APPROXIMATIONS",
    "distribution_variance",
    "glmm_variance_components",
    "null_model",
    "observation_level_terms",
]

APPROXIMATIONS = ("lognormal", "delta", "trigamma")
SINGULAR_TOLERANCE = 1e-5  # insight's default tolerance
_BINOMIAL = {"logit": np.pi**2 / 3.0, "probit": 1.0, "cloglog": np.pi**2 / 6.0}


def _family_and_link(result) -> tuple[str, str]:
    family = result.family
    return str(family.name).lower(), str(family.link.name).lower()


def null_model(result, data=None):
    """insight's null model: the intercept, the fit's random terms and offset, refitted.

    Parameters
    ----------
    result
        A :class:`~mixedmodels.glmm.GlmerResult`.
    data
        The data, when the fit does not hold them.
    """
    from mixedmodels.formula import parse_formula
    from mixedmodels.formula_update import update_formula
    from mixedmodels.inference.glmm_lrt import refit_glmer

    parsed = parse_formula(result.model.formula)
    parts = ["1", *(t.text for t in parsed.random), *(f"offset({o})" for o in parsed.offsets)]
    formula = update_formula(result.model.formula, ". ~ " + " + ".join(parts))
    return refit_glmer(result, formula, data)


def distribution_variance(result, null=None, approximation: str = "lognormal", data=None) -> float:
    """The distribution-specific (observation-level) variance on the link scale.

    Parameters
    ----------
    result
        A glmer fit of the binomial or Poisson family.
    null
        The null model (anything with ``fixef``) for a Poisson log-link fit; refitted with
        :func:`null_model` when None.
    approximation
        For the Poisson log link: ``"lognormal"`` (default, performance's), ``"delta"`` or
        ``"trigamma"``.
    data
        The data for the null model's refit, when the fit does not hold them.
    """
    if approximation not in APPROXIMATIONS:
        raise InferenceError(
            f"approximation must be one of {', '.join(APPROXIMATIONS)}, got {approximation!r}"
        )
    family, link = _family_and_link(result)
    if family == "binomial":
        if link not in _BINOMIAL:
            raise InferenceError(
                f"Nakagawa's R2 of a binomial fit needs the logit, probit or cloglog link, "
                f"not {link!r}"
            )
        return float(_BINOMIAL[link])
    if family == "poisson":
        if link == "sqrt":
            return 0.25
        if link != "log":
            raise InferenceError(
                f"Nakagawa's R2 of a Poisson fit needs the log or sqrt link, not {link!r}"
            )
        if null is None:
            null = null_model(result, data)
        mu = float(np.exp(np.asarray(null.fixef, dtype=float)[0]))
        if mu < 6:
            warn(
                f"mu of {mu:.1f} is too close to zero, the estimate of the distribution-"
                "specific variance may be unreliable (as performance warns)",
                UserWarning,
            )
        if approximation == "lognormal":
            return float(np.log1p(1.0 / mu))
        if approximation == "delta":
            return 1.0 / mu
        return float(special.polygamma(1, mu))
    raise InferenceError(
        f"Nakagawa's R2 is implemented for binomial and Poisson GLMMs, not the {family} family"
    )


def observation_level_terms(result) -> list[bool]:
    """Per random-effect term: whether its factor has one level per observation."""
    design = result.design
    out = []
    for term in design.terms:
        block = next(b for b in design.blocks if term in b.terms)
        out.append(len(block.levels) == design.n)
    return out


def _term_variance(result, term) -> float:
    design = result.design
    block = next(b for b in design.blocks if term in b.terms)
    offset = block.column_offsets[block.terms.index(term)]
    rows, cols = term.theta_positions()
    lam = np.zeros((term.size, term.size))
    lam[rows, cols] = result.theta[term.theta_offset : term.theta_offset + term.n_theta]
    scale = float(result.sigma) ** 2 if result.family.has_dispersion else 1.0
    cov = scale * lam @ lam.T
    Z = np.asarray(block.matrix, dtype=float)[:, offset : offset + term.size]
    return float(np.mean(np.einsum("ni,ij,nj->n", Z, cov, Z)))


def _labels(result) -> list[str]:
    seen: dict[str, int] = {}
    labels = []
    for term in result.design.terms:
        k = seen.get(term.group_name, 0)
        labels.append(term.group_name if k == 0 else f"{term.group_name}.{k}")
        seen[term.group_name] = k + 1
    return labels


def is_singular(result, tolerance: float = SINGULAR_TOLERANCE) -> bool:
    """insight's check: a theta component with lower bound 0 below ``tolerance``."""
    bounded = np.asarray(result.model.lower_bounds) == 0
    return bool(np.any(np.abs(np.asarray(result.theta)[bounded]) < tolerance))


def glmm_variance_components(
    result, null=None, approximation: str = "lognormal", data=None
) -> VarianceComponents:
    """Fixed, random, distribution and dispersion variances of a glmer fit (insight's).

    ``by_term`` holds every term's variance (observation-level ones too); ``random`` sums the
    others, ``dispersion`` the observation-level ones; ``residual`` is distribution plus
    dispersion. ``random`` is NaN for a singular fit (see the module notes).
    """
    X = np.asarray(result.design.X, dtype=float)
    fixed = float(np.var(X @ np.asarray(result.fixef, dtype=float), ddof=1))
    by_term, random, dispersion = {}, 0.0, 0.0
    for term, label, obs in zip(
        result.design.terms, _labels(result), observation_level_terms(result), strict=True
    ):
        value = _term_variance(result, term)
        by_term[label] = value
        if obs:
            dispersion += value
        else:
            random += value
    if is_singular(result):
        random = np.nan
    distribution = distribution_variance(result, null, approximation, data)
    return VarianceComponents(
        fixed=fixed,
        random=random,
        residual=distribution + dispersion,
        by_term=by_term,
        distribution=distribution,
        dispersion=dispersion,
    )
