"""Which fixed-effect columns belong to which model term, and lmerTest's per-term contrasts.

The term-to-columns map comes from the formulaic ModelSpec of the fixed part
(``design.fixed_spec``), restricted to the columns kept after dropping aliased ones
(``design.kept_columns``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mixedmodels.errors import InferenceError
from mixedmodels.rfunctions import R_CONTEXT

__all__ = ["ModelTerm", "term_columns", "type1_contrasts", "type3_contrasts", "containment"]


@dataclass(frozen=True)
class ModelTerm:
    """One fixed-effects term of the formula.

    Attributes
    ----------
    name
        The term as formulaic prints it (``"service"``, ``"a:b"``).
    columns
        Indices of the term's columns in the (kept) fixed-effects model matrix.
    variables
        The factor expressions the term is made of.
    numeric
        Those of ``variables`` that are numeric (not categorical).
    """

    name: str
    columns: tuple[int, ...]
    variables: frozenset[str]
    numeric: frozenset[str]


def term_columns(result) -> list[ModelTerm]:
    """The fixed-effects terms of a fit (intercept excluded), in formula order."""
    design = result.design
    spec = design.fixed_spec
    kept = {int(full): i for i, full in enumerate(np.asarray(design.kept_columns))}
    state = getattr(spec, "encoder_state", {}) or {}
    out = []
    for term, indices in spec.term_indices.items():
        exprs = [f.expr for f in term.factors if str(f.expr) != "1"]
        if not exprs:
            continue  # the intercept
        numeric = set()
        for expr in exprs:
            kind = state.get(expr, (None,))[0]
            if getattr(kind, "value", kind) != "categorical":
                numeric.add(expr)
        out.append(
            ModelTerm(
                name=str(term),
                columns=tuple(kept[j] for j in indices if j in kept),
                variables=frozenset(exprs),
                numeric=frozenset(numeric),
            )
        )
    return out


def containment(terms: list[ModelTerm]) -> dict[str, list[str]]:
    """For every term, the terms that contain it (SAS / lmerTest definition).

    F1 is contained in F2 when every variable of F1 is in F2, F2 has more variables, and both
    involve the same numeric covariates.
    """
    out = {}
    for t1 in terms:
        out[t1.name] = [
            t2.name for t2 in terms if t1.variables < t2.variables and t1.numeric == t2.numeric
        ]
    return out


def type1_contrasts(result, terms: list[ModelTerm]) -> dict[str, np.ndarray]:
    """Sequential (type I) contrasts: the term's rows of the unit-diagonal Cholesky factor.

    lmerTest takes the rows of ``t(L)`` from the Doolittle factorisation ``X'X = L U``; with
    ``X'X = R'R`` that is ``R`` with every row divided by its diagonal entry.
    """
    X = result.design.X
    R = np.linalg.cholesky(X.T @ X).T
    unit = R / np.diag(R)[:, None]
    return {t.name: unit[list(t.columns), :] for t in terms}


def type3_contrasts(result, terms: list[ModelTerm]) -> dict[str, np.ndarray]:
    """lmerTest's type III contrasts, one matrix per term.

    When no term is contained in another (main-effects models, with factors or covariates) they
    are the joint test that all of the term's coefficients are zero. Otherwise lmerTest
    expresses the over-parameterised design (every level of every factor) in the model's
    treatment-coded columns and orthogonalises each term's contrasts against those of the terms
    containing it (higher-order terms first); that is reproduced here on a synthetic grid of
    all factor-level combinations, which gives lmerTest's contrasts exactly whenever the model
    is hierarchical (every over-parameterised column lies in the span of the model's columns).

    Raises
    ------
    InferenceError
        For terms contained in others when the model is not hierarchical or uses other than
        treatment contrasts: lmerTest's contrasts then depend on the data in ways not
        reproduced here; use ``type=1``.
    """
    X = result.design.X
    p = X.shape[1]
    if p <= 1 or len(terms) <= 1:  # lmerTest: type I contrasts then
        return type1_contrasts(result, terms)
    contained = containment(terms)
    eye = np.eye(p)
    if not any(contained.values()):
        return {t.name: eye[list(t.columns), :] for t in terms}
    full, rows_of_x = _overparameterised_contrasts(result, terms)
    by_name = {t.name: t for t in terms}
    order = sorted(range(len(terms)), key=lambda i: -len(terms[i].variables))
    for i in order:
        term = terms[i]
        containing = [c for name in contained[term.name] for c in by_name[name].columns]
        if not containing or not term.columns:
            continue
        basis = full[:, containing]
        target = full[:, list(term.columns)]
        coef = np.linalg.lstsq(basis, target, rcond=None)[0]
        full[:, list(term.columns)] = _zap(target - basis @ coef)
    L = full[rows_of_x, :]
    out = {}
    for term in terms:
        Lt = L[:, list(term.columns)].T
        out[term.name] = Lt[np.abs(Lt).sum(axis=1) > 1e-8]
    return out


def _zap(a: np.ndarray, digits: int = 7) -> np.ndarray:
    """R's ``zapsmall``: round to ``digits`` significant digits of the largest entry."""
    largest = float(np.max(np.abs(a))) if a.size else 0.0
    if largest == 0.0:
        return a
    return np.round(a, max(0, digits - int(np.ceil(np.log10(largest)))))


GRID_LIMIT = 200_000  # rows of the synthetic grid of factor-level combinations


def _refuse(reason: str):
    return InferenceError(
        "type III tests for terms contained in others (interactions with their marginal "
        f"terms) need {reason}; use type=1"
    )


def _grid(spec, rng: np.random.Generator) -> pd.DataFrame:
    """Every combination of the factors' levels, three times, with random covariate values."""
    state = getattr(spec, "encoder_state", {}) or {}
    required = {str(v) for v in spec.required_variables}
    levels: dict[str, list] = {}
    for expr, (kind, info) in state.items():
        if getattr(kind, "value", kind) != "categorical":
            continue
        contrasts = getattr(info.get("contrasts"), "contrasts", None)
        if str(expr) not in required or type(contrasts).__name__ != "TreatmentContrasts":
            raise _refuse("plain factors with treatment contrasts")
        base = getattr(contrasts, "base", None)
        if not (getattr(base, "name", None) == "UNSET" or base == info["categories"][0]):
            raise _refuse("treatment contrasts with the first level as reference")
        levels[str(expr)] = list(info["categories"])
    size = int(np.prod([len(v) for v in levels.values()])) * 3
    if size > GRID_LIMIT:
        raise _refuse(f"fewer factor-level combinations (here {size // 3})")
    codes = np.indices([len(v) for v in levels.values()]).reshape(len(levels), -1)
    codes = np.tile(codes, 3)
    frame = {
        name: pd.Categorical(np.asarray(values, dtype=object)[c], categories=values)
        for (name, values), c in zip(levels.items(), codes, strict=True)
    }
    for name in sorted(required - set(levels)):
        frame[name] = rng.uniform(1.0, 2.0, codes.shape[1])
    return pd.DataFrame(frame)


def _overparameterised_contrasts(result, terms: list[ModelTerm]):
    """``t(ginv(X) rdX)`` on the grid and, per model column, its row in that matrix."""
    import formulaic

    design = result.design
    spec = design.fixed_spec
    grid = _grid(spec, np.random.default_rng(20240611))
    Xg = np.asarray(spec.get_model_matrix(grid, context=R_CONTEXT), dtype=float)[
        :, design.kept_columns
    ]
    parts = []
    intercept = any(not [f for f in t.factors if str(f.expr) != "1"] for t in spec.terms)
    if intercept:
        parts.append(np.ones((len(grid), 1)))
    for term in terms:
        mm = formulaic.model_matrix(
            f"0 + {term.name}", grid, ensure_full_rank=False, context=R_CONTEXT
        )
        parts.append(np.asarray(mm, dtype=float))
    RD = np.column_stack(parts)
    coef = np.linalg.lstsq(Xg, RD, rcond=None)[0]
    scale = max(1.0, float(np.max(np.abs(RD))))
    if np.linalg.matrix_rank(Xg) < Xg.shape[1] or np.max(np.abs(Xg @ coef - RD)) > 1e-8 * scale:
        raise _refuse("a hierarchical model (every marginal term of an interaction present)")
    rows = []
    for j in range(Xg.shape[1]):
        match = np.flatnonzero(np.max(np.abs(RD - Xg[:, [j]]), axis=0) < 1e-10 * scale)
        if match.size == 0:
            raise _refuse("treatment-coded model columns")
        rows.append(int(match[0]))
    return _zap(coef.T), rows
