"""A supernodal sparse Cholesky of the rest's random-effect block, for large sparse designs.

After the first block is eliminated, the rest's matrix ``S = [[S_zz, S_zx], [S_xz, S_xx]]``
(random effects of the other blocks, then X and y) is factored at every evaluation. The
workspace accumulates it densely; when its random-effect part ``S_zz`` is large and mostly
zero (InstEval: 1,156 instructor and department effects, 22% of the lower triangle filled),
a fill-reducing ordering and a supernodal factorisation do a fraction of the dense
Cholesky's work. CHOLMOD does that; we reach it through cvxopt, whose wheels bundle it
(scikit-sparse needs SuiteSparse's headers to build). The symbolic analysis is done once per
thread and reused at every evaluation; only the values change.

The objective needs three numbers from the factor, each of which this module gets without
forming the factor of the whole rest:

- ``log|L_zz|^2``: twice the sum of the logs of CHOLMOD's diagonal;
- with ``Y = L_zz^-1 P S_zx`` (P the fill-reducing permutation), the dense
  ``(p + 1) x (p + 1)`` Schur complement ``S_xx - Y'Y`` whose Cholesky factor holds
  ``log|R_X|^2`` (its first p diagonal entries) and ``r`` (its last).

Whether the sparse route is taken depends on the pattern only (its size and density), never
on timing, so the same data always get the same arithmetic.
"""

from __future__ import annotations

import threading

import numpy as np
import scipy.sparse as sp

__all__ = ["SparseRest", "available", "rest_pattern", "worth_it"]

SPARSE_MIN = 300  # random effects in the rest below which the dense factor always wins
SPARSE_MAX_DENSITY = 0.4  # filled share of S_zz's lower triangle above which dense wins


def available() -> bool:
    """Whether cvxopt's CHOLMOD can be imported."""
    try:
        _import_cholmod()
    except ImportError:
        return False
    return True


def _import_cholmod():
    """cvxopt's CHOLMOD module, its OpenBLAS told to use AVX2 kernels where the CPU has them.

    cvxopt's wheels bundle their own OpenBLAS (0.3.15), which does not know recent CPUs and
    falls back to its SSE3 kernels on them (measured on an AMD EPYC with AVX-512: InstEval's
    supernodal factor 10.8 ms against 7.0 ms with the Haswell kernels). The core type is read
    once, when that library loads, so it is set only around this import, only where the user
    has not set it, and only on CPUs with AVX2 and FMA; numpy's own OpenBLAS, already
    loaded, is not affected.
    """
    import os
    import sys

    if "cvxopt.cholmod" in sys.modules:
        return sys.modules["cvxopt.cholmod"]
    override = "OPENBLAS_CORETYPE" not in os.environ and _has_avx2()
    if override:
        os.environ["OPENBLAS_CORETYPE"] = "Haswell"
    try:
        from cvxopt import cholmod
    finally:
        if override:
            del os.environ["OPENBLAS_CORETYPE"]
    return cholmod


def _has_avx2() -> bool:
    """Whether numpy reports AVX2 and FMA3 on this CPU."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # pragma: no cover - numpy < 2
        from numpy.core._multiarray_umath import __cpu_features__ as features
    return bool(features.get("AVX2")) and bool(features.get("FMA3"))


def rest_pattern(
    ptr: np.ndarray,
    rows: np.ndarray,
    Arr: np.ndarray,
    offsets: np.ndarray,
    levels: np.ndarray,
    sizes: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the structurally non-zero lower triangle of ``S_zz``.

    ``S_zz = Lambda' (A_zz - A_z1 W A_1z) Lambda + I``: an entry can be non-zero where
    ``A_zz`` is, on the diagonal, or where two random effects share a level of the first
    block. Lambda mixes the effects of one level of a rest block, so the pattern is closed
    over such level blocks.

    Parameters
    ----------
    ptr, rows
        Per level of the first block, the rows of ``Ar1`` it touches (the workspace's
        pattern): ``rows[ptr[g]:ptr[g + 1]]``.
    Arr
        The rest's block of A (only its leading ``q_rest`` rows and columns are read).
    offsets, levels, sizes
        Per rest block: first row, number of levels, random effects per level.

    Returns
    -------
    I, J
        Row and column indices (``I >= J``) in column-major order, as CHOLMOD stores them.
    """
    q_rest = int(np.sum(levels * sizes))
    unit_of_row = np.concatenate(
        [np.repeat(np.arange(n_lev), size) for n_lev, size in zip(levels, sizes, strict=True)]
    )
    unit_offsets = np.concatenate([[0], np.cumsum(levels)]).astype(np.int64)
    block_of_row = np.repeat(np.arange(levels.size), levels * sizes)
    unit_of_row = (unit_of_row + unit_offsets[block_of_row]).astype(np.int64)
    n_units = int(unit_offsets[-1])
    blocks = zip(offsets, levels, sizes, strict=True)
    first_row_of_unit = np.concatenate(
        [off + np.arange(n_lev) * size for off, n_lev, size in blocks]
    ).astype(np.int64)
    size_of_unit = np.repeat(sizes, levels).astype(np.int64)

    level_of_entry = np.repeat(np.arange(ptr.size - 1), np.diff(ptr))
    keep = rows < q_rest
    incidence = sp.csr_matrix(
        (np.ones(int(keep.sum())), (unit_of_row[rows[keep]], level_of_entry[keep])),
        shape=(n_units, ptr.size - 1),
    )
    r, c = np.nonzero(Arr[:q_rest, :q_rest])
    direct = sp.csr_matrix(
        (np.ones(r.size), (unit_of_row[r], unit_of_row[c])), shape=(n_units, n_units)
    )
    units = sp.tril(incidence @ incidence.T + direct + sp.identity(n_units, format="csr"))
    units = units.tocsc()
    units.sort_indices()
    unit_r = units.indices.astype(np.int64)
    unit_c = np.repeat(np.arange(n_units, dtype=np.int64), np.diff(units.indptr))
    if np.all(sizes == 1):  # one row per unit: the unit pattern is the pattern
        return first_row_of_unit[unit_r], first_row_of_unit[unit_c]
    # expand every pair of units to the pairs of their rows
    count = size_of_unit[unit_r] * size_of_unit[unit_c]
    pair = np.repeat(np.arange(unit_r.size), count)
    within = np.arange(pair.size) - np.repeat(np.cumsum(count) - count, count)
    width = size_of_unit[unit_c][pair]
    I = first_row_of_unit[unit_r][pair] + within // width
    J = first_row_of_unit[unit_c][pair] + within % width
    lower = I >= J
    I, J = I[lower], J[lower]
    order = np.lexsort((I, J))
    return I[order], J[order]


def worth_it(n_entries: int, q_rest: int) -> bool:
    """Whether the sparse factor is expected to beat the dense one (pattern size only)."""
    return q_rest >= SPARSE_MIN and n_entries <= SPARSE_MAX_DENSITY * q_rest * (q_rest + 1) / 2


class SparseRest:
    """CHOLMOD's factor of ``S_zz`` on a fixed pattern, and the objective's three numbers.

    The rest's matrix is passed as a *compact* vector (see
    :mod:`mixedmodels.linalg.sparse_kernels`): the pattern's values, then the rows of X and y.

    Parameters
    ----------
    I, J
        The pattern from :func:`rest_pattern`.
    m
        Rows of the rest's dense buffer (``q_rest + p + 1``).
    q_rest
        Random effects in the rest.
    """

    def __init__(self, I: np.ndarray, J: np.ndarray, m: int, q_rest: int) -> None:
        self.I = np.ascontiguousarray(I, dtype=np.int64)
        self.J = np.ascontiguousarray(J, dtype=np.int64)
        self.col_ptr = np.zeros(q_rest + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.J, minlength=q_rest), out=self.col_ptr[1:])
        self.m = m
        self.q_rest = q_rest
        self.h = m - q_rest  # rows of X and y
        self.size = self.I.size + m * self.h  # length of the compact vector
        self._local = threading.local()

    @property
    def n_entries(self) -> int:
        """Stored entries of the lower triangle of ``S_zz``."""
        return int(self.I.size)

    def gather(self, S: np.ndarray) -> np.ndarray:
        """The compact vector of the lower triangle of the dense buffer ``S``."""
        from mixedmodels.linalg import sparse_kernels

        out = self._buffer()
        sparse_kernels.gather_compact(out, S, self.I, self.J, self.I.size, self.q_rest)
        return out

    def _buffer(self) -> np.ndarray:
        """This thread's compact vector."""
        local = self._local
        if not hasattr(local, "compact"):
            local.compact = np.empty(self.size)
        return local.compact

    def _factor_objects(self):
        """This thread's matrix and symbolic factor (analysed on first use)."""
        local = self._local
        if not hasattr(local, "F"):
            from cvxopt import matrix, spmatrix

            cholmod = _import_cholmod()
            A = spmatrix(
                matrix(np.ones(self.I.size)),
                matrix(self.I),
                matrix(self.J),
                (self.q_rest, self.q_rest),
            )
            with _supernodal(cholmod):
                local.F = cholmod.symbolic(A, uplo="L")
            local.A = A
        return local.A, local.F

    def evaluate(self, compact: np.ndarray, p: int) -> tuple[float, float, float] | None:
        """``log|L_zz|^2``, ``log|R_X|^2`` and ``r`` from the compact vector.

        None when the matrix is not positive definite.
        """
        from cvxopt import matrix

        cholmod = _import_cholmod()
        A, F = self._factor_objects()
        qr, m, n_pattern = self.q_rest, self.m, self.I.size
        A.V = matrix(compact[:n_pattern])
        try:
            with _supernodal(cholmod):
                cholmod.numeric(A, F)
        except ArithmeticError:
            return None
        diag = np.asarray(cholmod.diag(F)).ravel()
        logdet_z = 2.0 * float(np.sum(np.log(diag)))
        T = compact[n_pattern:].reshape(m, self.h)  # S[q_rest:, :] transposed
        B = matrix(np.asfortranarray(T[:qr]))
        cholmod.solve(F, B, sys=7)  # P S_zx
        cholmod.solve(F, B, sys=4)  # L^-1 P S_zx
        Y = np.asarray(B)
        upper = np.triu(T[qr:])  # S_xx's lower triangle, transposed
        C = upper + np.triu(upper, 1).T - Y.T @ Y
        try:
            R = np.linalg.cholesky(C)
        except np.linalg.LinAlgError:
            return None
        d = np.diag(R)
        if not np.all(np.isfinite(d)):
            return None
        logdet_x = 2.0 * float(np.sum(np.log(d[:p])))
        return logdet_z, logdet_x, float(d[p])


class _supernodal:
    """CHOLMOD's options set to a supernodal factor for the duration of a call.

    cvxopt keeps CHOLMOD's options in one module-level dict; it is restored afterwards so
    that other users of cvxopt see their own settings.
    """

    def __init__(self, cholmod) -> None:
        self.options = cholmod.options

    def __enter__(self) -> None:
        self.saved = dict(self.options)
        self.options["supernodal"] = 2  # diag() needs a supernodal factor

    def __exit__(self, *exc) -> None:
        self.options.clear()
        self.options.update(self.saved)
