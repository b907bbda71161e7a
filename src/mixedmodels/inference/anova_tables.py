"""Type II contrasts (lmerTest), Wald chi-square tables (car::Anova) and term labels.

``anova(fit, type=2)`` uses lmerTest's type II contrasts: for a term contained in no other
term, the joint test that its coefficients are zero; for a term contained in others, the rows
of the unit-diagonal (Doolittle) factor of ``X'X`` once the term and the terms containing it
are moved last. :func:`car_anova` gives car's Wald chi-square tables for mixed models: type II
tests a term after every term but those containing it (car's "relatives", whatever their
numeric variables), type III tests every coefficient group including the intercept.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy import stats as sps

from mixedmodels.errors import InferenceError
from mixedmodels.inference.terms import ModelTerm, containment, term_columns, type1_contrasts

__all__ = ["type2_contrasts", "car_anova", "term_label", "marginal_contrasts", "drop_scope"]

_CODED = re.compile(r"C\(\s*([^,()]+?)\s*,[^()]*(?:\([^()]*\))?[^()]*\)")
DOOLITTLE_EPS = 1e-6  # lmerTest's doolittle() zeroes factor entries below this


def term_label(name: str) -> str:
    """A term as lmerTest prints it: ``C(x, contr.sum)`` (a coding, not a transform) is ``x``."""
    return _CODED.sub(r"\1", name)


def _unit_factor(A: np.ndarray) -> np.ndarray:
    """``t(L)`` of lmerTest's Doolittle ``A = L U`` (unit lower L), small entries zeroed."""
    R = np.linalg.cholesky(A).T
    unit = R / np.diag(R)[:, None]
    unit[np.abs(unit) < DOOLITTLE_EPS] = 0.0
    return unit


def marginal_contrasts(result, terms: list[ModelTerm]) -> dict[str, np.ndarray]:
    """Every term's joint test that its coefficients are zero (identity rows)."""
    eye = np.eye(result.n_fixed)
    return {t.name: eye[list(t.columns), :] for t in terms}


def type2_contrasts(result, terms: list[ModelTerm] | None = None) -> dict[str, np.ndarray]:
    """lmerTest's type II contrasts (``get_contrasts_type2_unfolded``), one matrix per term."""
    terms = term_columns(result) if terms is None else terms
    p = result.n_fixed
    if p <= 1 or len(terms) <= 1:
        return type1_contrasts(result, terms)
    contained = containment(terms)
    by_name = {t.name: t for t in terms}
    marginal = marginal_contrasts(result, terms)
    gram = None  # X'X, formed when a term is contained in others
    out = {}
    for term in terms:
        if not contained[term.name]:
            out[term.name] = marginal[term.name]
            continue
        last = [c for name in [term.name, *contained[term.name]] for c in by_name[name].columns]
        order = [j for j in range(p) if j not in set(last)] + last
        if gram is None:
            gram = result.design.fixed_crossproduct()
        unit = _unit_factor(gram[np.ix_(order, order)])
        rows = [order.index(c) for c in term.columns]
        L = np.zeros((len(rows), p))
        L[:, order] = unit[rows, :]
        out[term.name] = L
    return out


def _relatives(terms: list[ModelTerm]) -> dict[str, list[str]]:
    """car's relatives: the terms whose variables include all of this term's."""
    return {
        t.name: [u.name for u in terms if u is not t and t.variables <= u.variables] for t in terms
    }


def _conjugate_complement(X: np.ndarray, Z: np.ndarray, ip: np.ndarray) -> np.ndarray:
    """car's ``ConjComp``: the part of span(Z) orthogonal to X in the inner product ``ip``."""
    M = Z.T @ ip @ X
    rank = np.linalg.matrix_rank(M)
    if rank == 0:
        return Z
    Q, _ = np.linalg.qr(M, mode="complete")
    return Z @ Q[:, rank:]


def _wald(beta: np.ndarray, V: np.ndarray, L: np.ndarray) -> tuple[float, int]:
    Lb = L @ beta
    VL = L @ V @ L.T
    rank = np.linalg.matrix_rank(VL)
    return float(Lb @ np.linalg.pinv(VL) @ Lb), int(rank)


def drop_scope(terms: list[ModelTerm]) -> list[ModelTerm]:
    """The terms R's ``drop.scope`` allows to drop: those no other term includes."""
    return [t for t in terms if not any(t.variables < u.variables for u in terms)]


def car_anova(result, type=2) -> pd.DataFrame:
    """Wald chi-square tests per term, as ``car::Anova(fit, type=)`` for a mixed model.

    Parameters
    ----------
    result
        A fitted model (``fixef``, ``vcov`` and ``design`` are used, so GLMMs qualify).
    type
        ``2`` / ``"II"`` (default) or ``3`` / ``"III"`` (which also tests the intercept).

    Returns
    -------
    pandas.DataFrame
        Columns ``Chisq``, ``Df``, ``Pr(>Chisq)``, one row per term.
    """
    kind = {2: 2, 3: 3, "2": 2, "3": 3, "II": 2, "III": 3}.get(
        type.strip().upper() if isinstance(type, str) else type
    )
    if kind is None:
        raise InferenceError(f"type must be 2 ('II') or 3 ('III'), got {type!r}")
    beta = np.asarray(result.fixef, dtype=float)
    V = np.asarray(result.vcov, dtype=float)
    p = beta.size
    eye = np.eye(p)
    terms = term_columns(result)
    rows = {}
    if kind == 3:
        names = list(result.fixef.index)
        if "(Intercept)" in names:
            rows["(Intercept)"] = _wald(beta, V, eye[[names.index("(Intercept)")]])
        for term in terms:
            rows[term_label(term.name)] = _wald(beta, V, eye[list(term.columns)])
    else:
        relatives = _relatives(terms)
        by_name = {t.name: t for t in terms}
        for term in terms:
            rel = [c for name in relatives[term.name] for c in by_name[name].columns]
            own = list(term.columns)
            L = eye[own]
            if rel:
                L = _conjugate_complement(eye[rel].T, eye[rel + own].T, V).T
            rows[term_label(term.name)] = _wald(beta, V, L)
    table = pd.DataFrame.from_dict(rows, orient="index", columns=["Chisq", "Df"])
    table["Df"] = table["Df"].astype(int)
    table["Pr(>Chisq)"] = sps.chi2.sf(table["Chisq"], table["Df"])
    return table
