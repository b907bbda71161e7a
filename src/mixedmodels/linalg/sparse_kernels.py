"""Compiled loop of the sparse route: the rest's matrix as one compact vector.

The sparse route (:mod:`mixedmodels.linalg.sparse_rest`) takes the rest's matrix as one
*compact* vector: first the values of ``S_zz``'s lower-triangle pattern (CHOLMOD's order),
then the rows of X and y transposed, ``T = S[q_rest:, :]'`` (``m x h``, row-major, with
``h = p + 1``). (Accumulating straight into that vector, by precomputed positions of every
pair of a level, was measured no faster than the dense scatter followed by this gather.)
"""

from __future__ import annotations

from numba import njit

__all__ = ["gather_compact"]


@njit(cache=True, nogil=True)
def gather_compact(out, S, I, J, n_pattern, q_rest):  # pragma: no cover - compiled
    """The compact vector of the symmetric matrix whose lower triangle is in ``S``."""
    m = S.shape[0]
    h = m - q_rest
    for e in range(n_pattern):
        out[e] = S[I[e], J[e]]
    for j in range(m):
        row = n_pattern + j * h
        for r in range(h):
            i = q_rest + r
            out[row + r] = S[i, j] if j <= i else S[j, i]
