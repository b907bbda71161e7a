"""Checks that the model's parameters can be told apart, as lme4's: one function per check.

Both designs run them, the in-memory one (:func:`mixedmodels.design.build_design`) on its rows
and the out-of-core one (:func:`mixedmodels.sources.plan.build_plan`) on the first pass's
counts: a random-effect term needs columns; a grouping factor two levels or more and, with a
residual variance, fewer levels than observations; a block fewer random effects than
observations (lme4's ``check.nobs.vs.nRE``, a control); the fixed part fewer columns than
observations; and a ``homdiag``/``homcs`` term over indicator columns more than one
observation in some cell (else its variance is the residual's, as lme4's ``(1 | g:f)`` with
one observation per level).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mixedmodels._warn import warn
from mixedmodels.covariance import make_covariance
from mixedmodels.errors import (
    DesignError,
    FormulaError,
    IdentifiabilityWarning,
)
from mixedmodels.formula import RandomTerm
from mixedmodels.terms import ReBlock


def check_identified(term: RandomTerm, kind: str, codes, matrix: np.ndarray, text: str) -> None:
    """Refuse ``homdiag``/``homcs`` over indicator columns with one observation per cell.

    There the term's own variance (``homdiag``) or its diagonal share (``homcs``) is the
    residual's: the likelihood is flat along their sum, as for lme4's ``(1 | g:f)`` with one
    observation per level, which lme4 refuses.
    """
    if kind not in ("homdiag", "homcs") or matrix.shape[1] < 2:
        return
    ones = matrix == 1.0
    if not (np.all(ones | (matrix == 0.0)) and np.all(ones.sum(axis=1) == 1)):
        return
    cell = codes * matrix.shape[1] + np.argmax(ones, axis=1)
    if np.bincount(cell).max() <= 1:
        raise DesignError(
            f"{term.text}: every {term.group_name} x column cell has one observation, so the "
            f"{kind}() variance is confounded with the residual (as lme4's (1 | g:f) with one "
            "observation per level); use a random intercept, cs(), ar1() or toep()"
        )


def nobs_vs_nre(block: ReBlock, n: int, action: str) -> None:
    """lme4's ``check.nobs.vs.nRE`` on a block with at least as many random effects as rows."""
    message = (
        f"number of random effects for grouping factor {block.group_name!r} "
        f"({block.n_random_effects}) must be less than the number of observations ({n})"
    )
    why = "the random-effects variances and the residual variance are probably not identifiable"
    _act(action, message, why, "check_nobs_vs_nre")


def _act(action: str, message: str, why: str, control: str) -> None:
    """What a model check does when it fails: ``"stop"``, ``"warning"`` or ``"ignore"``."""
    if action == "stop":
        raise DesignError(
            f"{message}; {why} (control={{{control!r}: 'warning'}} or 'ignore' fits it)"
        )
    if action == "warning":
        warn(f"{message}: {why}", IdentifiabilityWarning)


def check_term_columns(term: RandomTerm, columns: Sequence[str], text: str) -> None:
    """A random-effect term needs at least one column (``(0 | g)`` has none)."""
    if len(columns) == 0:
        raise FormulaError(f"random-effects term {term.text} has no columns", text)


def check_levels(
    term: RandomTerm, n_levels: int, n: int, residual_variance: bool = True, action: str = "stop"
) -> None:
    """A grouping factor needs two levels or more and, with a residual, fewer than ``n``.

    ``action``: lme4's ``check.nobs.vs.nlev`` for the second rule (``"stop"``, ``"warning"``
    or ``"ignore"``).
    """
    if n_levels < 2:
        raise DesignError(
            f"grouping factor {term.group_name!r} in {term.text} must have at least 2 levels,"
            f" it has {n_levels}"
        )
    if not residual_variance or n_levels < n:
        return
    message = (
        f"number of levels of grouping factor {term.group_name!r} in {term.text} "
        f"({n_levels}) must be less than the number of observations ({n})"
    )
    why = "its variance and the residual variance are not identifiable"
    _act(action, message, why, "check_nobs_vs_nlev")


def check_random_effects(
    blocks: Sequence[ReBlock], n: int, action: str, residual_variance: bool = True
) -> None:
    """lme4's ``check.nobs.vs.nRE`` on every block (``action``: stop, warning or ignore)."""
    if not residual_variance:  # a GLMM: an observation-level random effect is a model
        return
    for block in blocks:
        if block.n_random_effects >= n and block.count_limited:
            nobs_vs_nre(block, n, action)


def check_fixed_count(p: int, n: int) -> None:
    """The fixed part needs fewer (non-aliased) columns than observations."""
    if p >= n:
        raise DesignError(f"fewer observations ({n}) than fixed-effect parameters ({p})")


def term_covariance(term: RandomTerm, columns: tuple[str, ...], text: str):
    """The covariance structure of a term with these columns, checked against them.

    ``cs``, ``homcs``, ``ar1`` and ``toep`` need two columns or more; ``ar1`` and ``toep``
    relate consecutive columns (occasions), so an intercept column among them is refused.
    """
    kind = term.structure
    covariance = make_covariance(kind, len(columns))
    if len(columns) < covariance.min_size:
        hint = (
            f": give it a factor of occasions, e.g. {kind}(0 + C(time) | {term.group_name})"
            if kind in ("ar1", "toep")
            else ""
        )
        raise FormulaError(
            f"{kind}() needs at least {covariance.min_size} columns, {term.text} has "
            f"{len(columns)} ({', '.join(columns)}){hint}",
            text,
        )
    if kind in ("ar1", "toep") and "(Intercept)" in columns:
        raise FormulaError(
            f"{term.text} has an intercept column, but {kind}() relates consecutive occasions:"
            f" write {kind}(0 + time | {term.group_name}) with time a factor",
            text,
        )
    return covariance
