"""Estimability of linear functions of a rank-deficient fixed-effects design (emmeans' rule).

When the model matrix ``X = [X_k, X_d]`` has columns ``X_d`` spanned by the kept ones
(``X_d = X_k B``; lme4 and we drop them), a function ``l = (l_k, l_d)`` of the full coefficient
vector is estimable iff it is orthogonal to the null space of ``X``, spanned by the columns of
``[-B; I]``: iff ``l_d = B' l_k``. Its estimate is ``l_k' beta_k`` (the dropped coefficients
taken as zero, as emmeans does). emmeans (package estimability) tests
``|N' l|^2 < 1e-8 |l|^2`` with an orthonormal basis ``N`` of the null space; so does
:func:`estimable`. A marginal mean or contrast that fails is reported as NA (``nonEst``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

from mixedmodels.errors import InferenceError
from mixedmodels.rfunctions import R_CONTEXT

__all__ = ["Aliasing", "aliasing", "TOLERANCE"]

TOLERANCE = 1e-8  # estimability::is.estble's default


@dataclass(frozen=True)
class Aliasing:
    """How the dropped columns depend on the kept ones.

    Attributes
    ----------
    dropped
        Positions of the dropped columns in the full model matrix.
    kept
        Positions of the kept ones.
    null_basis
        Orthonormal basis of the null space of the full ``X``, ``(p_full, p_full - rank)``.
    """

    dropped: np.ndarray
    kept: np.ndarray
    null_basis: np.ndarray

    def estimable(self, L_full: np.ndarray) -> np.ndarray:
        """Per row of ``L_full`` (full columns): whether it is estimable."""
        L_full = np.atleast_2d(L_full)
        check = L_full @ self.null_basis
        return np.sum(check * check, axis=1) <= TOLERANCE * np.sum(L_full * L_full, axis=1)


def aliasing(result, data=None) -> Aliasing | None:
    """The aliasing of a fit's fixed-effect columns; None when none was dropped.

    The full model matrix is rebuilt from the fit's data (the fit keeps only the kept columns).
    """
    design = result.design
    if not getattr(design, "dropped_names", ()):
        return None
    frame = data if data is not None else getattr(result.model, "frame", None)
    if frame is None:
        raise InferenceError(
            "estimability checks of a rank-deficient fit need its data, which the fit does not "
            "hold: pass data="
        )
    rows = frame.loc[design.row_index]
    X_full = np.asarray(
        design.fixed_spec.get_model_matrix(rows, na_action="ignore", context=R_CONTEXT),
        dtype=float,
    )
    kept = np.asarray(design.kept_columns)
    if X_full.shape[0] != design.n or not np.allclose(X_full[:, kept], design.X):
        raise InferenceError("the data do not give this fit's fixed-effect model matrix")
    dropped = np.setdiff1d(np.arange(X_full.shape[1]), kept)
    scale = np.maximum(np.linalg.norm(X_full, axis=0), 1e-300)
    null = linalg.null_space(X_full / scale, rcond=1e-9)
    # back to the unscaled coefficients: X (D^-1 n) = 0 for n in the scaled null space
    basis, _ = np.linalg.qr(null / scale[:, None])
    return Aliasing(dropped=dropped, kept=kept, null_basis=basis)
