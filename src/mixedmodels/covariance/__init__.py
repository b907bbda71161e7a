"""Covariance structures of random-effect terms (glmmTMB's names): the map theta -> lambda.

========== ============================================== ============ ==========================
name       covariance of one level's k effects             theta        written
========== ============================================== ============ ==========================
``us``     any (lme4's default)                           k(k+1)/2     ``(x | g)``, ``us(x | g)``
``diag``   one variance per column, no correlation        k            ``(x || g)``, ``diag(x | g)``
``homdiag`` one variance for all columns, ``s^2 I``       1            ``homdiag(x | g)``
``cs``     a variance per column, one correlation         k + 1        ``cs(x | g)``
``homcs``  one variance, one correlation                  2            ``homcs(x | g)``
``ar1``    one variance, correlation ``rho^|i-j|``        2            ``ar1(0 + time | g)``
``toep``   a variance per column, one correlation a lag   2k - 1       ``toep(0 + time | g)``
========== ============================================== ============ ==========================

See :mod:`mixedmodels.covariance.base` for the protocol every structure follows.
"""

from __future__ import annotations

from mixedmodels.covariance.base import Covariance, robust_cholesky
from mixedmodels.covariance.correlated import (
    AutoRegressive1,
    CompoundSymmetry,
    HomogeneousCompoundSymmetry,
    Toeplitz,
)
from mixedmodels.covariance.linear import Diagonal, HomogeneousDiagonal, Unstructured

__all__ = [
    "Covariance",
    "Unstructured",
    "Diagonal",
    "HomogeneousDiagonal",
    "CompoundSymmetry",
    "HomogeneousCompoundSymmetry",
    "AutoRegressive1",
    "Toeplitz",
    "STRUCTURES",
    "make_covariance",
    "robust_cholesky",
]

STRUCTURES: dict[str, type[Covariance]] = {
    cls.kind: cls
    for cls in (
        Unstructured,
        Diagonal,
        HomogeneousDiagonal,
        CompoundSymmetry,
        HomogeneousCompoundSymmetry,
        AutoRegressive1,
        Toeplitz,
    )
}
"""The structures by glmmTMB's name."""


def make_covariance(kind: str, size: int) -> Covariance:
    """The structure ``kind`` (a key of :data:`STRUCTURES`) for a term of ``size`` columns."""
    return STRUCTURES[kind](size)
