"""Which fixed-effect columns belong to which model term, and lmerTest's per-term contrasts.

The term-to-columns map comes from the formulaic ModelSpec of the fixed part
(``design.fixed_spec``), restricted to the columns kept after dropping aliased ones
(``design.kept_columns``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mixedmodels.errors import DesignError

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
    """lmerTest's type III contrasts.

    When no term is contained in another (main-effects models, with factors or covariates)
    lmerTest's contrasts are the joint test that all of the term's coefficients are zero.

    Raises
    ------
    DesignError
        When a term is contained in another (an interaction together with its marginal
        terms): those type III hypotheses are not implemented; use ``type=1``.
    """
    contained = {name: c for name, c in containment(terms).items() if c}
    if contained:
        name, others = next(iter(contained.items()))
        raise DesignError(
            f"type III tests for terms contained in others (here {name!r} in "
            f"{', '.join(repr(o) for o in others)}) are not implemented; use type=1"
        )
    p = result.design.X.shape[1]
    eye = np.eye(p)
    return {t.name: eye[list(t.columns), :] for t in terms}
