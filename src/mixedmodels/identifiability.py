"""Checks that the random-effect terms can be told apart from the residual, as lme4's.

A block needs fewer random effects than observations (lme4's ``check.nobs.vs.nRE``, a
control), and a ``homdiag``/``homcs`` term over indicator columns more than one observation in
some cell (else its variance is the residual's, as lme4's ``(1 | g:f)`` with one observation
per level).
"""

from __future__ import annotations

import numpy as np

from mixedmodels._warn import warn
from mixedmodels.errors import (
    DesignError,
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
    if action == "stop":
        raise DesignError(
            f"{message}; the random-effects variances and the residual variance are probably "
            "not identifiable (control={'check_nobs_vs_nre': 'warning'} or 'ignore' fits it)"
        )
    if action == "warning":
        warn(
            f"{message}: the random-effects variances and the residual variance are probably "
            "not identifiable",
            IdentifiabilityWarning,
        )
