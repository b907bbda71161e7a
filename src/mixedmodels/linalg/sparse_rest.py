"""A supernodal sparse Cholesky of the rest's random-effect block, for large sparse designs.

After the first block is eliminated, the rest's matrix ``S = [[S_zz, S_zx], [S_xz, S_xx]]``
(random effects of the other blocks, then X and y) is factored at every evaluation. The
workspace accumulates it densely; when its random-effect part ``S_zz`` is large and mostly
zero (InstEval: 1,156 instructor and department effects, 22% of the lower triangle filled),
a fill-reducing ordering and a supernodal factorisation do a fraction of the dense
Cholesky's work. CHOLMOD does that; we take it from cvxopt's wheels, which bundle it
(scikit-sparse needs SuiteSparse's headers to build), through one of the two bindings of
:mod:`mixedmodels.linalg.cholmod` (ctypes, with no GIL held during a factorisation, or
cvxopt's own; same library, ordering and options: the same numbers). The symbolic analysis is
done once per thread and reused at every evaluation; only the values change.

The objective needs three numbers from the factor, and all three are on its diagonal when X
and y are ordered last: the whole rest, ``S_zz`` with its dense rows of X and y, is factored
under the permutation ``(P, X, y)``, with ``P`` the fill-reducing (AMD) ordering of ``S_zz``
alone, and then

- ``log|L_zz|^2`` is twice the sum of the logs of the first ``q_rest`` diagonal entries,
- ``log|R_X|^2`` that of the next ``p``, and ``r`` is the last.

(The dense rows add one trailing supernode, which costs less than solving with ``L_zz`` for
the X and y columns and factoring their Schur complement apart: benchmarks/results.md.)

Whether the sparse route is taken depends on the pattern only (its size and density), never
on timing, so the same data always get the same arithmetic.
"""

from __future__ import annotations

import threading

import numpy as np
import scipy.sparse as sp

from mixedmodels.linalg import cholmod, sparse_kernels

__all__ = ["SparseRest", "available", "rest_pattern", "worth_it"]

SPARSE_MIN = 300  # random effects in the rest below which the dense factor always wins
SPARSE_MAX_DENSITY = 0.4  # filled share of S_zz's lower triangle above which dense wins
DENSE_MARKS_MAX = 8192  # scalar rests up to this size find their pattern with q^2 byte marks


def available() -> bool:
    """Whether CHOLMOD can be called (cvxopt installed)."""
    return cholmod.binding() is not None


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
    if np.all(sizes == 1) and q_rest <= DENSE_MARKS_MAX:  # one pass over the pairs
        return sparse_kernels.scalar_rest_pattern(ptr, rows, np.ascontiguousarray(Arr), q_rest)
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
    """CHOLMOD's factor of the whole rest on a fixed pattern, and the objective's three numbers.

    The rest's matrix is passed as a *compact* vector: the values of its lower triangle on
    :attr:`I`, :attr:`J` (CHOLMOD's column-major order): the pattern of ``S_zz`` and every
    entry of the rows of X and y.

    Parameters
    ----------
    I, J
        The pattern of ``S_zz`` from :func:`rest_pattern`: column by column, rows ascending.
    m
        Rows of the rest's matrix (``q_rest + p + 1``).
    q_rest
        Random effects in the rest.
    """

    def __init__(self, I: np.ndarray, J: np.ndarray, m: int, q_rest: int) -> None:
        self.n_entries = int(np.asarray(I).size)
        self.m = m
        self.q_rest = q_rest
        self.h = m - q_rest  # rows of X and y
        strip_col = np.repeat(np.arange(m, dtype=np.int64), self.h)
        strip_row = q_rest + np.tile(np.arange(self.h, dtype=np.int64), m)
        lower = strip_row >= strip_col
        rows = np.concatenate([np.asarray(I, dtype=np.int64), strip_row[lower]])
        cols = np.concatenate([np.asarray(J, dtype=np.int64), strip_col[lower]])
        # by column; within one, S_zz's sorted rows (all < q_rest) stay before X's and y's
        order = np.argsort(cols, kind="stable")
        self.I = np.ascontiguousarray(rows[order])
        self.J = np.ascontiguousarray(cols[order])
        self.size = int(self.I.size)  # length of the compact vector
        self._lock = threading.Lock()
        self._order: np.ndarray | None = None
        binding = cholmod.binding()
        if binding is None:
            raise RuntimeError("the sparse route needs cvxopt's CHOLMOD (the sparse extra)")
        self._binding = binding
        self._factors: dict[int, cholmod.Factor] = {}  # CHOLMOD factors by thread id

    def gather(self, S: np.ndarray) -> np.ndarray:
        """The compact vector of the symmetric matrix whose lower triangle is in ``S``.

        Written into this thread's factor's own value array (no copy before factoring).
        """
        out = self.buffer()
        sparse_kernels.gather_pattern(out, S, self.I, self.J)
        return out

    def buffer(self) -> np.ndarray:
        """This thread's compact vector: its factor's own value array (write, then evaluate)."""
        return self._factor().values

    @property
    def binding(self) -> str:
        """The CHOLMOD binding in use: ``"ctypes"`` or ``"cvxopt"``."""
        return self._binding.name

    @property
    def library(self) -> str | None:
        """The binding and library versions in use (:func:`mixedmodels.linalg.cholmod.label`)."""
        return cholmod.label(self._binding)

    @property
    def releases_gil(self) -> bool:
        """Whether factorisations run without the GIL (CHOLMOD called through ctypes)."""
        return self._binding.releases_gil

    def _ordering(self) -> np.ndarray:
        """AMD's ordering of ``S_zz``, then X and y (computed once, shared by threads)."""
        with self._lock:
            if self._order is None:
                qr = self.q_rest
                zz = self.I < qr  # noqa: SIM300 - rows of S_zz
                order = self._binding.amd_order(self.I[zz], self.J[zz], qr)
                self._order = np.concatenate([order, np.arange(qr, self.m, dtype=np.int64)])
            return self._order

    def _factor(self) -> cholmod.Factor:
        """This thread's CHOLMOD factor (analysed on first use).

        Kept by thread id rather than in thread-local storage, so that
        :meth:`release_other_threads` can free the factors of helper threads.
        """
        key = threading.get_ident()
        factor = self._factors.get(key)
        if factor is None:
            factor = self._binding.factor(self.I, self.J, self.m, self._ordering())
            with self._lock:
                self._factors[key] = factor
        return factor

    def release_other_threads(self) -> None:
        """Free the factors made by other threads than this one (e.g. after a parallel check)."""
        key = threading.get_ident()
        with self._lock:
            self._factors = {k: v for k, v in self._factors.items() if k == key}

    def evaluate(self, compact: np.ndarray, p: int) -> tuple[float, float, float] | None:
        """``log|L_zz|^2``, ``log|R_X|^2`` and ``r`` from the compact vector.

        None when the matrix is not positive definite.
        """
        d = self._factor_diagonal(compact)
        if d is None:
            return None
        qr = self.q_rest
        logdet_z = 2.0 * float(np.sum(np.log(d[:qr])))
        logdet_x = 2.0 * float(np.sum(np.log(d[qr : qr + p])))
        return logdet_z, logdet_x, float(d[qr + p])

    def _factor_diagonal(self, compact: np.ndarray) -> np.ndarray | None:
        """The factor's diagonal in its order (P, then X and y); None if not positive definite."""
        factor = self._factor()
        if compact is not factor.values:
            factor.values[:] = compact
        return factor.factorize()
