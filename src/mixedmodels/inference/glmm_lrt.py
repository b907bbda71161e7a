"""Likelihood-ratio term deletions of a glmer fit: ``ranova`` and ``drop1`` refit with glmer.

lmerTest's ``ranova`` and its F-test ``drop1`` are defined for linear mixed models only. For a
GLMM the same questions are answered by likelihood-ratio tests of refitted models, as an lme4
user does them:

- :func:`ranova_glmer`: each random-effect term removed in turn (or reduced, as lmerTest does:
  ``(1 + x | g)`` to ``(1 | g)``), the smaller model refitted with ``glmer`` (same family, link,
  nAGQ, weights, offset and codings) and compared by ``anova(full, reduced)``; with no random
  term left the reduced model is the GLM of the fixed part (R's ``glm``), whose log-likelihood
  is the Laplace criterion at ``theta = 0``.
- :func:`drop1_glmer`: lme4's ``drop1(fit, test = "Chisq")``: every fixed term that no other
  term contains is dropped in turn, the model refitted, and ``AIC`` / ``LRT`` reported.

Each program refits with its own optimiser; where lme4 stops short of the optimum (as it does
by about 1e-4 in -2 log L on cbpp), the statistics differ by that much.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from mixedmodels.errors import InferenceError, SingularFitWarning
from mixedmodels.inference.anova import AnovaTable
from mixedmodels.inference.random_lhs import lhs_terms

__all__ = ["is_glmm", "refit_glmer", "glm_of_fixed_part", "ranova_glmer", "drop1_glmer"]


def is_glmm(result) -> bool:
    """True for a fit with a non-Gaussian family (a :class:`~mixedmodels.glmm.GlmerResult`)."""
    family = getattr(result, "family", None)
    name = getattr(family, "name", family)
    return family is not None and str(name).lower() != "gaussian"


@dataclass(frozen=True)
class GlmFit:
    """The fixed part alone, fitted as a GLM (what R's ``glm`` fits).

    Attributes
    ----------
    formula
        The formula without random terms.
    beta
        GLM estimates.
    loglik
        Its log-likelihood.
    df
        Number of parameters (fixed effects, plus the scale of a family with dispersion).
    nobs
        Number of observations.
    """

    formula: str
    beta: np.ndarray
    loglik: float
    df: int
    nobs: int


def _data_and_options(result, data):
    model = result.model
    frame = data if data is not None else getattr(model, "frame", None)
    if frame is None:
        raise InferenceError(
            "refitting this model needs its data, which the fit does not hold: pass data="
        )
    return frame, dict(getattr(model, "_options", None) or {})


def refit_glmer(result, formula: str, data=None):
    """Fit ``formula`` with the fit's family, link, nAGQ, weights, offset and codings.

    The refit goes through the fit's own model (``with_formula``), so this module needs no
    import of :mod:`mixedmodels.glmm`.
    """
    frame, options = _data_and_options(result, data)
    with warnings.catch_warnings():
        # a reduced model at the boundary is an expected outcome of the test, not an alarm
        warnings.simplefilter("ignore", SingularFitWarning)
        reduced = result.model.with_formula(
            formula,
            frame,
            weights=options.get("weights"),
            offset=options.get("offset"),
            contrasts=options.get("contrasts"),
        )
        fit = reduced.fit(nAGQ=result.nAGQ)
    if fit.nobs != result.nobs:
        raise InferenceError(
            f"the refit of {formula!r} uses {fit.nobs} rows, the model {result.nobs}: "
            "remove the rows with missing values first"
        )
    return fit


def glm_of_fixed_part(result, formula: str) -> GlmFit:
    """The GLM of the fit's fixed part: the criterion at ``theta = 0``, beta at its optimum."""
    model = result.model
    beta = model.glm_beta
    theta = np.zeros(result.theta.size)
    value = float(model.objective(theta, beta, nAGQ=1))
    df = result.n_fixed + int(result.family.has_dispersion)
    return GlmFit(formula, np.asarray(beta, float), -0.5 * value, df, result.nobs)


def _lrt(full, reduced) -> dict[str, float]:
    chisq = 2.0 * (full.loglik - reduced.loglik)
    df = full.df - reduced.df
    return {
        "npar": reduced.df,
        "logLik": reduced.loglik,
        "AIC": -2.0 * reduced.loglik + 2.0 * reduced.df,
        "LRT": chisq,
        "Df": df,
        "Pr(>Chisq)": float(sps.chi2.sf(chisq, df)) if df > 0 else np.nan,
    }


def _random_reductions(result) -> list[tuple[str, str]]:
    """(row label, reduced formula) per random term, in the order they were written."""
    from mixedmodels.formula import parse_formula
    from mixedmodels.formula_update import update_formula

    written = result.model.formula
    parsed = parse_formula(written)
    out = []
    for term in parsed.random:
        inner = f"{term.lhs} | {term.group_name}"
        text = term.text.strip()
        intercept, named = lhs_terms(term.lhs)
        scope = [(n, v) for n, v in named if not any(v < w for _, w in named)]
        if not named or not scope:
            out.append((f"({inner})", update_formula(written, f". ~ . - {text}")))
            continue
        for name, _ in scope:
            kept = [n for n, _ in named if n != name]
            lhs = " + ".join(["1" if intercept else "0", *kept]) if kept else "1"
            new = f". ~ . - {text} + ({lhs} | {term.group_name})"
            out.append((f"{name} in ({inner})", update_formula(written, new)))
    return out


def ranova_glmer(result, data=None) -> AnovaTable:
    """Likelihood-ratio tests of the random-effect terms of a glmer fit (refitted).

    Parameters
    ----------
    result
        A :class:`~mixedmodels.glmm.GlmerResult`.
    data
        The data, when the fit does not hold them.

    Returns
    -------
    AnovaTable
        lmerTest's ``ranova`` layout: rows ``<none>`` and one per removed or reduced term;
        columns ``npar``, ``logLik``, ``AIC``, ``LRT``, ``Df``, ``Pr(>Chisq)`` (``LRT`` and
        its p-value are lme4's ``anova(full, reduced)``). The reduced formulas are the notes.
    """
    rows = {
        "<none>": {
            "npar": result.df,
            "logLik": result.loglik,
            "AIC": result.aic,
            "LRT": np.nan,
            "Df": np.nan,
            "Pr(>Chisq)": np.nan,
        }
    }
    notes = []
    for label, formula in _random_reductions(result):
        if "|" in formula:
            reduced = refit_glmer(result, formula, data)
        else:
            reduced = glm_of_fixed_part(result, formula)
        rows[label] = _lrt(result, reduced)
        notes.append(f"{label}: {formula}")
    table = pd.DataFrame.from_dict(rows, orient="index")
    return AnovaTable(
        table=table,
        heading="ANOVA-like table for random-effects: Single term deletions (refitted glmer)",
        lines=(f"Model: {result.model.formula}",),
        notes=tuple(notes),
    )


def drop1_glmer(result, data=None) -> AnovaTable:
    """lme4's ``drop1(fit, test = "Chisq")`` of a glmer fit: refits without each fixed term.

    Returns
    -------
    AnovaTable
        Rows ``<none>`` and one per droppable term (R's ``drop.scope``); columns ``npar``
        (parameters removed), ``AIC``, ``LRT`` and ``Pr(Chi)``.
    """
    from mixedmodels.formula_update import update_formula
    from mixedmodels.inference.anova_tables import drop_scope, term_label
    from mixedmodels.inference.terms import term_columns

    rows = {"<none>": {"npar": np.nan, "AIC": result.aic, "LRT": np.nan, "Pr(Chi)": np.nan}}
    notes = []
    for term in drop_scope(term_columns(result)):
        label = term_label(term.name)
        formula = update_formula(result.model.formula, f". ~ . - {label}")
        reduced = refit_glmer(result, formula, data)
        lrt = _lrt(result, reduced)
        rows[label] = {
            "npar": lrt["Df"],
            "AIC": lrt["AIC"],
            "LRT": lrt["LRT"],
            "Pr(Chi)": lrt["Pr(>Chisq)"],
        }
        notes.append(f"{label}: {formula}")
    return AnovaTable(
        table=pd.DataFrame.from_dict(rows, orient="index"),
        heading="Single term deletions (likelihood-ratio tests, refitted glmer)",
        lines=(f"Model: {result.model.formula}",),
        notes=tuple(notes),
    )
