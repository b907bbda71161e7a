"""Which fixed-effect columns belong to which model term, and lmerTest's per-term contrasts.

The term-to-columns map comes from the formulaic ModelSpec of the fixed part
(``design.fixed_spec``), restricted to the columns kept after dropping aliased ones
(``design.kept_columns``).
"""

from __future__ import annotations

import re
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
    R = np.linalg.cholesky(result.design.fixed_crossproduct()).T
    unit = R / np.diag(R)[:, None]
    return {t.name: unit[list(t.columns), :] for t in terms}


def type3_contrasts(result, terms: list[ModelTerm]) -> dict[str, np.ndarray]:
    """lmerTest's type III contrasts, one matrix per term, for any contrast coding.

    lmerTest expresses the over-parameterised design (every level of every factor) in the
    treatment-coded columns of the model and orthogonalises each term's contrasts against
    those of the terms containing it (higher-order terms first). For a model coded otherwise
    (sum, Helmert, polynomial, another reference level) it does this in the treatment coding
    and maps the contrasts to the model's columns with ``zapsmall(ginv(X_trt) X)``. Both are
    reproduced here on a synthetic grid of all factor-level combinations, which gives
    lmerTest's contrasts exactly whenever the model is hierarchical (every over-parameterised
    column lies in the span of the model's columns). When no term is contained in another and
    every factor is treatment-coded they are the joint tests that the term's coefficients are
    zero.

    Raises
    ------
    InferenceError
        For terms contained in others when the model is not hierarchical: lmerTest's
        contrasts then depend on the data in ways not reproduced here; use ``type=1``.
    """
    p = result.n_fixed
    if p <= 1 or len(terms) <= 1:  # lmerTest: type I contrasts then
        return type1_contrasts(result, terms)
    contained = containment(terms)
    treatment = _all_treatment(result.design.fixed_spec)
    if treatment and not any(contained.values()):
        eye = np.eye(p)
        return {t.name: eye[list(t.columns), :] for t in terms}
    grid = _grid(result.design.fixed_spec, np.random.default_rng(20240611))
    Xg = np.asarray(result.design.fixed_spec.get_model_matrix(grid, context=R_CONTEXT), dtype=float)
    Xg = Xg[:, result.design.kept_columns]
    intercept = _has_intercept(result.design.fixed_spec)
    if treatment:
        return _extract_type3(Xg, grid, terms, contained, _term_texts(terms), intercept)
    texts = _treatment_texts(result.design.fixed_spec, terms)
    X_trt, trt_terms = _treatment_matrix(result.design.fixed_spec, grid, terms, texts)
    L_trt = _extract_type3(X_trt, grid, trt_terms, contained, texts, intercept)
    mapping = _zap(np.linalg.lstsq(X_trt, Xg, rcond=None)[0])
    if np.max(np.abs(X_trt @ mapping - Xg)) > 1e-6 * max(1.0, float(np.max(np.abs(Xg)))):
        raise _refuse("a model whose columns span the same space in every coding")
    return {name: L @ mapping for name, L in L_trt.items()}


def _has_intercept(spec) -> bool:
    return any(not [f for f in t.factors if str(f.expr) != "1"] for t in spec.terms)


def _extract_type3(Xg, grid, terms, contained, texts, intercept) -> dict[str, np.ndarray]:
    """lmerTest's ``extract_contrasts_type3`` for a treatment-coded grid matrix ``Xg``."""
    full, rows_of_x = _overparameterised_contrasts(Xg, grid, terms, texts, intercept)
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


def _decimals(largest: float, digits: int) -> int:
    """The decimals R's ``zapsmall`` (R 4.2) keeps: ``round(digits - log10(largest))``.

    R passes the non-integer ``digits - log10(mx)`` to ``round``, which rounds it half up.
    """
    return max(0, int(np.floor(digits - np.log10(largest) + 0.5)))


def _zap(a: np.ndarray, digits: int = 7) -> np.ndarray:
    """R's ``zapsmall``: round to ``digits`` significant digits of the largest entry."""
    largest = float(np.max(np.abs(a))) if a.size else 0.0
    if largest == 0.0:
        return a
    return np.round(a, _decimals(largest, digits))


GRID_LIMIT = 200_000  # rows of the synthetic grid of factor-level combinations


def _refuse(reason: str):
    return InferenceError(
        "type III tests for terms contained in others (interactions with their marginal "
        f"terms) need {reason}; use type=1"
    )


def _categorical(spec) -> dict[str, tuple[list, object]]:
    """Every categorical expression of the fixed part: its levels and contrasts."""
    state = getattr(spec, "encoder_state", {}) or {}
    out = {}
    for expr, (kind, info) in state.items():
        if getattr(kind, "value", kind) == "categorical":
            contrasts = getattr(info.get("contrasts"), "contrasts", None)
            out[str(expr)] = (list(info["categories"]), contrasts)
    return out


def _all_treatment(spec) -> bool:
    """Whether every factor is treatment-coded with its first level as reference."""
    for levels, contrasts in _categorical(spec).values():
        if type(contrasts).__name__ != "TreatmentContrasts":
            return False
        base = getattr(contrasts, "base", None)
        if not (getattr(base, "name", None) == "UNSET" or base == levels[0]):
            return False
    return True


_CALL = re.compile(r"^C\((.*?)(?:,.*)?\)$", re.DOTALL)


def _treatment_expr(expr: str) -> str:
    """The same factor treatment-coded: ``C(x, contr.sum)`` becomes ``C(x)``."""
    match = _CALL.match(expr.strip())
    return f"C({match.group(1).strip()})" if match else expr


def _term_texts(terms: list[ModelTerm]) -> dict[str, str]:
    return {t.name: t.name for t in terms}


def _treatment_texts(spec, terms: list[ModelTerm]) -> dict[str, str]:
    """Each term's formula text with every factor treatment-coded."""
    factors = _categorical(spec)
    out = {}
    for term in terms:
        parts = []
        for factor in spec.term_indices:  # keep formulaic's own factor spelling and order
            if str(factor) == term.name:
                for f in factor.factors:
                    text = str(f.expr)
                    parts.append(_treatment_expr(text) if text in factors else text)
                break
        out[term.name] = ":".join(parts) if parts else term.name
    return out


def _treatment_matrix(spec, grid, terms, texts):
    """The treatment-coded model matrix on the grid and the terms' columns in it."""
    import formulaic

    rhs = " + ".join(["1" if _has_intercept(spec) else "0", *(texts[t.name] for t in terms)])
    mm = formulaic.model_matrix(rhs, grid, context=R_CONTEXT)
    matrix = np.asarray(mm, dtype=float)
    new_terms = []
    for term in terms:
        key = next(k for k in mm.model_spec.term_indices if str(k) == texts[term.name])
        new_terms.append(
            ModelTerm(
                name=term.name,
                columns=tuple(mm.model_spec.term_indices[key]),
                variables=term.variables,
                numeric=term.numeric,
            )
        )
    if np.linalg.matrix_rank(matrix) < matrix.shape[1]:
        raise _refuse("a hierarchical model (every marginal term of an interaction present)")
    return matrix, new_terms


def _grid(spec, rng: np.random.Generator) -> pd.DataFrame:
    """Every combination of the factors' levels, three times, with random covariate values."""
    required = {str(v) for v in spec.required_variables}
    levels: dict[str, list] = {}
    for expr, (values, _) in _categorical(spec).items():
        name = expr if expr in required else _treatment_expr(expr)[2:-1].strip()
        if name not in required:
            raise _refuse(f"factors that are data columns (not {expr!r})")
        levels.setdefault(name, values)
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


def _overparameterised_contrasts(
    Xg, grid, terms: list[ModelTerm], texts: dict[str, str], intercept: bool
):
    """``t(ginv(X) rdX)`` on the grid and, per model column, its row in that matrix."""
    import formulaic

    parts = [np.ones((len(grid), 1))] if intercept else []
    for term in terms:
        mm = formulaic.model_matrix(
            f"0 + {texts[term.name]}", grid, ensure_full_rank=False, context=R_CONTEXT
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
