"""Term deletions: ``ranova``, ``drop1`` and ``step`` as lmerTest defines them.

- :func:`ranova`: a likelihood-ratio test for each random-effect term. A term with covariates
  on the left of the bar is *reduced*, not removed: ``(1 + x | g)`` is compared with
  ``(1 | g)`` (row ``x in (1 + x | g)``); a term ``(1 | g)`` is removed. The reduced models are
  refitted with the fit's own criterion (REML or ML); when no random term is left the
  reduced model is the linear model of the fixed part, whose likelihood is the criterion at
  ``theta = 0``. A term with a covariance structure (``ar1(0 + t | g)``, ``cs(...)``...) is
  removed whole, and the other terms keep their structures in every refit.
- :func:`drop1`: F tests (Satterthwaite or Kenward-Roger) of the fixed terms that no other
  term contains, each the joint test that its coefficients are zero.
- :func:`step`: backward elimination, random part first (``ranova``, the least significant
  term while its p-value exceeds ``alpha_random``), then the fixed part (``drop1``, while
  above ``alpha_fixed``), refitting after every elimination.

Refits need the data: the fit's own (kept by :class:`~mixedmodels.model.LinearMixedModel`)
or ``data=``.
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats as sps

from mixedmodels.errors import InferenceError
from mixedmodels.inference.anova import AnovaTable
from mixedmodels.inference.anova_tables import drop_scope, marginal_contrasts, term_label
from mixedmodels.inference.glmm_lrt import drop1_glmer, is_glmm, ranova_glmer
from mixedmodels.inference.random_lhs import lhs_terms
from mixedmodels.inference.terms import term_columns
from mixedmodels.inference.tests import f_table_row, validate_ddf

if TYPE_CHECKING:
    from mixedmodels.results import LmerResult

__all__ = ["ranova", "drop1", "step", "StepResult", "refit_formula"]

_LRT_COLUMNS = ["npar", "logLik", "AIC", "LRT", "Df", "Pr(>Chisq)"]
_F_COLUMNS = ["Sum Sq", "Mean Sq", "NumDF", "DenDF", "F value", "Pr(>F)"]


@dataclass(frozen=True)
class _LinearModel:
    """The fixed part alone (what lmerTest fits with ``lm`` when no random term is left)."""

    formula: str
    loglik: float
    df: int
    nobs: int


def _term_text(term) -> str:
    """A random term as formula text, its covariance structure kept (``ar1(0 + t | g)``)."""
    inner = f"{term.lhs} | {term.group_name}"
    return f"({inner})" if term.structure == "us" else f"{term.structure}({inner})"


def _random_texts(parsed) -> list[str]:
    return [_term_text(t) for t in parsed.random]


def _formula(response: str, fixed: str, random: list[str]) -> str:
    return " + ".join([f"{response} ~ {fixed}", *random])


def _inputs(result, data):
    model = result.model
    inputs = dict(getattr(model, "_options", None) or {})
    inputs["data"] = data if data is not None else getattr(model, "frame", None)
    if inputs["data"] is None:
        raise InferenceError(
            "refitting this model needs its data, which the fit does not hold (restored or "
            "streamed fits): pass data="
        )
    return inputs


def refit_formula(result, formula: str, data=None):
    """Fit ``formula`` to the fit's data with its criterion, weights and offset.

    The fixed part of ``formula`` is taken as written (codings already spelled ``C(x, ...)``),
    so the fit's ``contrasts=`` are not applied again.
    """
    inputs = _inputs(result, data)
    model = result.model.with_formula(
        formula, inputs["data"], weights=inputs.get("weights"), offset=inputs.get("offset")
    )
    fit = model.fit(REML=result.reml)
    if fit.nobs != result.nobs:
        raise InferenceError(
            f"the refit of {formula!r} uses {fit.nobs} rows, the model {result.nobs}: "
            "remove the rows with missing values first"
        )
    return fit


def _linear_model(result, formula: str) -> _LinearModel:
    theta = np.zeros(result.theta.size)
    criterion = result.model.objective(theta, REML=result.reml)
    return _LinearModel(formula, -0.5 * criterion, result.n_fixed + 1, result.nobs)


def _reductions(result) -> list[tuple[str, str]]:
    """lmerTest's reduced formulas, one per random term (or per droppable covariate of it)."""
    parsed = result.design.formula
    texts = _random_texts(parsed)
    shared = Counter(t.text for t in parsed.random)
    out = []
    for i, term in enumerate(parsed.random):
        written = term.text if shared[term.text] == 1 else texts[i]
        others = texts[:i] + texts[i + 1 :]
        if term.structure != "us":  # ar1(0 + t | g)...: removed whole
            out.append((written.strip(), _formula(parsed.response, parsed.fixed, others)))
            continue
        inner = written.strip()[1:-1].strip()
        intercept, named = lhs_terms(term.lhs)
        scope = [(n, v) for n, v in named if not any(v < w for _, w in named)]
        if not named or not scope:
            out.append((f"({inner})", _formula(parsed.response, parsed.fixed, others)))
            continue
        for name, _ in scope:
            kept = [n for n, _ in named if n != name]
            lhs = " + ".join(["1" if intercept else "0", *kept]) if kept else "1"
            new = texts[:i] + [f"({lhs} | {term.group_name})"] + texts[i + 1 :]
            out.append((f"{name} in ({inner})", _formula(parsed.response, parsed.fixed, new)))
    return out


def _lrt_row(full, reduced) -> dict[str, float]:
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


def _ranova_fits(result, data):
    rows = {
        "<none>": {
            "npar": result.df,
            "logLik": result.loglik,
            "AIC": -2.0 * result.loglik + 2.0 * result.df,
            "LRT": np.nan,
            "Df": np.nan,
            "Pr(>Chisq)": np.nan,
        }
    }
    formulas = {}
    for label, formula in _reductions(result):
        if "|" in formula:
            reduced = refit_formula(result, formula, data)
        else:
            reduced = _linear_model(result, formula)
        rows[label] = _lrt_row(result, reduced)
        formulas[label] = formula
    table = pd.DataFrame.from_dict(rows, orient="index", columns=_LRT_COLUMNS)
    return table, formulas


def ranova(result, data=None) -> AnovaTable:
    """Likelihood-ratio tests of the random-effect terms (lmerTest's ``ranova``).

    A glmer fit's terms are tested by refitting with glmer
    (:func:`mixedmodels.inference.glmm_lrt.ranova_glmer`).

    Parameters
    ----------
    result
        A fitted linear or generalized linear mixed model.
    data
        The data, when the fit does not hold them.

    Returns
    -------
    AnovaTable
        Rows ``<none>`` (the model) and one per reduced or removed term; columns ``npar``,
        ``logLik``, ``AIC``, ``LRT``, ``Df``, ``Pr(>Chisq)``. The reduced models' formulas
        are the table's ``lines``.
    """
    if is_glmm(result):
        return ranova_glmer(result, data)
    table, formulas = _ranova_fits(result, data)
    return AnovaTable(
        table=table,
        heading="ANOVA-like table for random-effects: Single term deletions",
        lines=(f"Model: {result.model.formula}",),
        notes=tuple(f"{k}: {v}" for k, v in formulas.items()),
    )


def _drop1_table(result, ddf) -> pd.DataFrame:
    terms = drop_scope(term_columns(result))
    contrasts = marginal_contrasts(result, terms)
    rows = {term_label(t.name): f_table_row(result, contrasts[t.name], ddf) for t in terms}
    table = pd.DataFrame.from_dict(rows, orient="index", columns=_F_COLUMNS)
    if len(table):
        table["NumDF"] = table["NumDF"].astype(int)
    return table


def drop1(result, ddf: str = "Satterthwaite") -> AnovaTable:
    """F tests of the fixed terms that can be dropped (lmerTest's ``drop1``).

    A term can be dropped when no other term contains it (R's ``drop.scope``); its test is
    that all of its coefficients are zero, with Satterthwaite or Kenward-Roger df. A glmer
    fit gets lme4's likelihood-ratio ``drop1`` instead (refits;
    :func:`mixedmodels.inference.glmm_lrt.drop1_glmer`; ``ddf`` does not apply).
    """
    if is_glmm(result):
        return drop1_glmer(result)
    method = validate_ddf(ddf)
    name = "Satterthwaite's" if method == "Satterthwaite" else "Kenward-Roger's"
    return AnovaTable(
        table=_drop1_table(result, method),
        heading=f"Single term deletions using {name} method",
        lines=(f"Model: {result.model.formula}",),
    )


@dataclass(frozen=True, eq=False)
class StepResult:
    """lmerTest's ``step``: the elimination tables and the model found.

    Attributes
    ----------
    random, fixed
        Backward-elimination tables; ``Eliminated`` numbers the removed terms in order (0 for
        the terms kept, whose tests in the final model follow).
    model
        The final fit (None when no random term is left: then ``formula`` is a linear model's).
    formula
        The final model's formula.
    """

    random: AnovaTable
    fixed: AnovaTable
    model: LmerResult | None
    formula: str

    def __str__(self) -> str:
        """Both tables and the model found, as lmerTest prints them."""
        return f"{self.random}\n\n{self.fixed}\n\nModel found:\n{self.formula}"

    __repr__ = __str__


def _fixed_without(result, drop: str) -> str:
    parsed = result.design.formula
    kept = [t.name for t in term_columns(result) if term_label(t.name) != drop]
    intercept = "(Intercept)" in result.fixef.index
    fixed = " + ".join(kept) if kept else "1"
    if not intercept:
        fixed = f"0 + {fixed}" if kept else "0"
    return _formula(parsed.response, fixed, _random_texts(parsed))


def step(
    result,
    ddf: str = "Satterthwaite",
    alpha_random: float = 0.1,
    alpha_fixed: float = 0.05,
    reduce_random: bool = True,
    reduce_fixed: bool = True,
    keep=(),
    data=None,
) -> StepResult:
    """Backward elimination of random then fixed terms (lmerTest's ``step``).

    Parameters
    ----------
    result
        A fitted linear mixed model.
    ddf
        Df method of the fixed-term F tests.
    alpha_random, alpha_fixed
        A term is eliminated while its p-value exceeds these (the largest first).
    reduce_random, reduce_fixed
        Whether to reduce each part.
    keep
        Fixed terms never to eliminate.
    data
        The data, when the fit does not hold them.

    Returns
    -------
    StepResult
    """
    if is_glmm(result):
        raise InferenceError(
            "step() is lmerTest's elimination for linear mixed models; for a glmer fit use "
            "ranova() and drop1() (likelihood-ratio tests) and refit with update()"
        )
    method = validate_ddf(ddf)
    alpha_random = alpha_random if reduce_random else 1.0
    alpha_fixed = alpha_fixed if reduce_fixed else 1.0
    keep = [keep] if isinstance(keep, str) else list(keep)
    unknown = [k for k in keep if k not in {term_label(t.name) for t in term_columns(result)}]
    if unknown:
        warnings.warn(f"keep names no fixed term: {', '.join(unknown)}", UserWarning, stacklevel=2)
    fit = result
    ran, forms = _ranova_fits(fit, data)
    eliminated = [ran.iloc[[0]]]
    final = None
    while True:
        p = ran["Pr(>Chisq)"].iloc[1:]
        above = p[p.notna() & (p > alpha_random)]
        if above.empty:
            break
        label = str(above.idxmax())
        eliminated.append(ran.loc[[label]])
        formula = forms[label]
        if "|" not in formula:
            final = _linear_model(fit, formula)
            ran = ran.iloc[[0]].iloc[0:0]
            break
        fit = refit_formula(fit, formula, data)
        ran, forms = _ranova_fits(fit, data)
    random = pd.concat(eliminated)
    random.insert(0, "Eliminated", [np.nan, *range(1, len(eliminated))])
    tail = ran.iloc[1:].copy()
    tail.insert(0, "Eliminated", 0.0)
    random = pd.concat([random, tail])
    random_table = AnovaTable(table=random, heading="Backward reduced random-effect table")
    if final is not None:
        note = "no random term is left: the fixed part of the linear model is not reduced"
        empty = pd.DataFrame(columns=["Eliminated", *_F_COLUMNS])
        fixed_table = AnovaTable(
            table=empty, heading="Backward reduced fixed-effect table", notes=(note,)
        )
        return StepResult(random_table, fixed_table, None, final.formula)
    aov = _drop1_table(fit, method)
    removed = []
    while True:
        consider = aov.loc[[i for i in aov.index if i not in keep]]
        p = consider["Pr(>F)"]
        above = p[p.notna() & (p > alpha_fixed)]
        if above.empty:
            break
        label = str(above.idxmax())
        removed.append(aov.loc[[label]])
        fit = refit_formula(fit, _fixed_without(fit, label), data)
        aov = _drop1_table(fit, method)
    parts = [frame for frame in (*removed, aov) if len(frame)]
    fixed = pd.concat(parts).astype(float) if parts else aov.astype(float)
    fixed["NumDF"] = fixed["NumDF"].astype(int)
    fixed.insert(0, "Eliminated", [*range(1, len(removed) + 1), *([0] * len(aov))])
    fixed_table = AnovaTable(
        table=fixed,
        heading="Backward reduced fixed-effect table",
        lines=(f"Degrees of freedom method: {method}",),
    )
    return StepResult(random_table, fixed_table, fit, fit.model.formula)
