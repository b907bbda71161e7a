"""A private workspace for fast objective evaluations, derived from a SufficientStats.

The workspace holds what does not change with theta: for every level ``g`` of the first
block, the rows of ``Ar1`` that are not zero in that level's columns and the values there
(so ``Ar1 W Ar1'`` becomes a scatter-add into a dense buffer with a pattern known in advance),
the layout of the rest's blocks, and per-thread scratch buffers. It is built from the
statistics alone (never from row data), owned by the model (``LinearMixedModel.workspace``;
the statistics are pure data and know nothing of it), and carried over to refits with a new
response, whose only change is the last row of ``Ar1`` (:meth:`Workspace.with_response`).

The engine's functions (:func:`~mixedmodels.linalg.update_factor`,
:func:`~mixedmodels.linalg.evaluate_objective`, :func:`~mixedmodels.linalg.solve_at_optimum`)
take a workspace; its statistics are :attr:`Workspace.stats`.
"""

from __future__ import annotations

import threading

import numpy as np
import scipy.sparse as sp

from mixedmodels.linalg import grouped_schur, kernels, sparse_rest
from mixedmodels.linalg.routes import SMALL_CHOLESKY, Evaluation, Route, choose_route
from mixedmodels.linalg.statistics import SufficientStats

__all__ = ["Workspace", "Evaluation", "level_pattern"]

ROW_RANGES = 16  # row ranges of the row-wise scatter (tasks on the pool; any number gives
#                 the same sums: every row is summed whole, in one order)
BY_ROWS_MIN = 1_000_000  # scatter pairs from which row ranges are scattered on the tile pool
LEVEL_CHUNKS = 8  # level ranges of a large one-block evaluation (tasks on the tile pool)
CHUNKED_MIN_WORK = 1_000_000  # levels * p1^3 + entries * p1^2 from which it is cut in chunks


def level_pattern(Ar1, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per level of the first block: the rows of ``Ar1`` used by it and the values there.

    The last row (the response's) is always included, so a new response keeps the pattern.

    Returns
    -------
    ptr, rows, values
        ``rows[ptr[g]:ptr[g + 1]]`` are the sorted rows of level ``g`` and
        ``values[k, a] = Ar1[rows[k], g * size + a]``; ``values`` is a new array, never a
        view of ``Ar1`` (the workspace conditions it in place).
    """
    m, cols = Ar1.shape
    levels = cols // size
    if size == 1 and sp.issparse(Ar1):
        return _scalar_pattern(Ar1, m)
    if not sp.issparse(Ar1) and 2 * np.count_nonzero(Ar1) >= Ar1.size:
        # mostly nonzero (centred columns of balanced data sum to exact zeros: sleepstudy's
        # Days against the intercept): every row of every level, its zeros stored. The
        # kernels' sums then gain exact zeros only, and the pattern costs no sort
        return _full_pattern(Ar1, m, levels, size)
    return _general_pattern(Ar1, m, levels, size)


def _general_pattern(Ar1, m: int, levels: int, size: int):
    """:func:`level_pattern` for any storage and pattern of ``Ar1``."""
    if sp.issparse(Ar1):
        coo = Ar1.tocoo()
        r, c, v = coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data
    else:
        r, c = np.nonzero(Ar1)
        r, c = r.astype(np.int64), c.astype(np.int64)
        v = Ar1[r, c]
    lev = c // size
    key = np.concatenate([lev * m + r, np.arange(levels, dtype=np.int64) * m + (m - 1)])
    key.sort()
    keys = key[np.r_[True, key[1:] != key[:-1]]]  # np.unique without its slow hashing
    rows = (keys % m).astype(np.int64)
    level_of = keys // m
    ptr = np.zeros(levels + 1, dtype=np.int64)
    np.cumsum(np.bincount(level_of, minlength=levels), out=ptr[1:])
    values = np.zeros((keys.size, size))
    pos = np.searchsorted(keys, lev * m + r)
    values[pos, c - lev * size] = v
    return ptr, rows, values


def _full_pattern(Ar1: np.ndarray, m: int, levels: int, size: int):
    """:func:`level_pattern` with every row in every level (zeros stored): no index to sort.

    (The general path's sort keys and positions take about eight arrays of ``Ar1``'s size.)
    """
    ptr = np.arange(levels + 1, dtype=np.int64) * m
    rows = np.tile(np.arange(m, dtype=np.int64), levels)
    values = np.array(  # a copy even where the transpose is already contiguous (m = 1)
        np.asarray(Ar1, dtype=float).reshape(m, levels, size).transpose(1, 0, 2), order="C"
    ).reshape(levels * m, size)
    return ptr, rows, values


def _scalar_pattern(Ar1, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`level_pattern` for one column per level: the columns of Ar1 in CSC form."""
    csc = Ar1.tocsc()
    csc.sum_duplicates()
    csc.sort_indices()
    indptr = csc.indptr.astype(np.int64)
    indices = csc.indices.astype(np.int64)
    data = csc.data.astype(float)
    counts = np.diff(indptr)
    last = indices[np.maximum(indptr[1:] - 1, 0)] if indices.size else np.zeros(0, np.int64)
    missing = (counts == 0) | (last != m - 1)  # levels whose response entry is zero
    at = indptr[1:][missing]
    rows = np.insert(indices, at, m - 1)
    values = np.insert(data, at, 0.0)[:, None]
    ptr = indptr.copy()
    ptr[1:] += np.cumsum(missing)
    return ptr, rows, values


class Workspace:
    """Precomputed structure and scratch space for :func:`mixedmodels.linalg.update_factor`.

    Parameters
    ----------
    stats
        The model's sufficient statistics.
    """

    def __init__(
        self,
        stats: SufficientStats,
        _pattern: tuple | None = None,
        _sparse: sparse_rest.SparseRest | None | bool = False,
    ) -> None:
        self.m = stats.m
        self.q_rest = stats.q_rest
        self.p = stats.p
        self.levels1 = stats.shapes[0].n_levels
        self.size1 = stats.shapes[0].size
        if _pattern is None:
            self.ptr, self.rows, values = level_pattern(stats.Ar1, self.size1)
        else:
            self.ptr, self.rows, values = _pattern
        self.values_conditioned = values  # conditioned in place by _condition below
        rest = stats.shapes[1:]
        self.offsets = np.cumsum([0] + [s.n_random_effects for s in rest])[:-1].astype(np.int64)
        self.rest_levels = np.array([s.n_levels for s in rest], dtype=np.int64)
        self.rest_sizes = np.array([s.size for s in rest], dtype=np.int64)
        self.scalar_rest = all(s.size == 1 for s in rest)
        self.stats = stats
        self._local = threading.local()
        self._condition()
        self.fused = not rest and self.m <= SMALL_CHOLESKY
        self.level_chunks = self._level_chunks() if self.fused else None
        # large scatters run by target row, in parallel: the transposed pattern
        self.pairs = int(np.sum(np.diff(self.ptr) ** 2) // 2)
        self.by_rows = self.pairs >= BY_ROWS_MIN and not self.fused
        if self.by_rows:
            self._row_pattern()
        # False: not analysed yet (a refit and a reweighted plan hand over theirs)
        self.sparse: sparse_rest.SparseRest | None = (
            self._sparse_rest() if isinstance(_sparse, bool) else _sparse
        )
        self.route: Route = choose_route(self)  # once, by shape (mixedmodels.linalg.routes)
        self.dense_route: Route = choose_route(self, dense=True)

    @property
    def work(self) -> int:
        """Size of the first block's part of one evaluation: ``levels * p1^3 + entries * p1^2``."""
        return self.levels1 * self.size1**3 + int(self.ptr[-1]) * self.size1**2

    def _level_chunks(self) -> list[tuple[int, int]] | None:
        """Level ranges of equal work for a large one-block evaluation, or None when small.

        A function of the data's shape only, so the same data always get the same sums
        (the chunks' sums are added in chunk order, whatever thread computed them).
        """
        p1 = self.size1
        work = self.work
        if work < CHUNKED_MIN_WORK:
            return None
        per_level = p1**3 + np.diff(self.ptr) * p1**2
        edges = np.searchsorted(
            np.cumsum(per_level), np.linspace(0, work, LEVEL_CHUNKS + 1)[1:-1], side="right"
        )
        bounds = [0, *(int(e) for e in edges), self.levels1]
        return [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]

    def _sparse_rest(self) -> sparse_rest.SparseRest | None:
        """CHOLMOD's route for the rest's random effects, where its pattern makes it pay."""
        qr = self.q_rest
        if qr < sparse_rest.SPARSE_MIN or not sparse_rest.available():
            return None
        I, J = sparse_rest.rest_pattern(
            self.ptr, self.rows, self.stats.Arr, self.offsets, self.rest_levels, self.rest_sizes
        )
        if not sparse_rest.worth_it(I.size, qr):
            return None
        return sparse_rest.SparseRest(I, J, self.m, qr)

    def _grouped(self) -> grouped_schur.GroupedSchur | None:
        """The sparse route's per-count sums (built on first use; None where they do not apply)."""
        if not hasattr(self, "_grouped_schur"):
            self._grouped_schur = grouped_schur.grouped_schur(self, self.sparse)  # type: ignore[arg-type]
        return self._grouped_schur

    def _row_pattern(self) -> None:
        """The transposed pattern for the row-wise scatter, and row ranges of equal work."""
        order = np.argsort(self.rows, kind="stable")
        self.row_entry = order.astype(np.int64)
        level_of = np.repeat(np.arange(self.levels1), np.diff(self.ptr))
        self.row_level = level_of[order]
        self.row_ptr = np.zeros(self.m + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.rows, minlength=self.m), out=self.row_ptr[1:])
        # work per target row: its copy from Arr plus one pair per entry up to the entry
        pairs = self.row_entry - self.ptr[self.row_level] + 1
        work = np.arange(1, self.m + 1, dtype=float)
        work += np.bincount(self.rows[order], weights=pairs, minlength=self.m)
        edges = np.searchsorted(np.cumsum(work), np.linspace(0, work.sum(), ROW_RANGES + 1))
        edges[0], edges[-1] = 0, self.m
        self.row_ranges = [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]

    def _condition(self) -> None:
        """The response's row of A for ``y - X b0`` (``b0``: least squares), for the optimiser.

        ``r^2`` and the log determinants do not change when a multiple of X is taken from y,
        but forming them from ``y'y`` and ``Z'y`` of a response with a large mean cancels
        most digits, afresh at every theta: noise that stalls BOBYQA. With ``y - X b0`` the
        cancellation happens once, here, and the objective is smooth in theta.
        """
        stats, qr, p, m = self.stats, self.q_rest, self.p, self.m
        Arr = stats.Arr
        XX, Xy = Arr[qr : qr + p, qr : qr + p], Arr[qr : qr + p, m - 1]
        b0 = stats.ols_beta
        last = Arr[m - 1].copy()
        last[: m - 1] -= b0 @ Arr[qr : qr + p, : m - 1]
        last[m - 1] = Arr[m - 1, m - 1] - 2.0 * b0 @ Xy + b0 @ XX @ b0
        self.b0 = b0
        self.last_plain = np.ascontiguousarray(Arr[m - 1])
        self.last_conditioned = last
        # per level, the response's entries minus b0' times the X rows' entries (in place:
        # the plain values differ only there and are rebuilt from Ar1 when asked for)
        values = self.values_conditioned
        kernels.condition_values(values, self.ptr, self.rows, np.asarray(b0, float), qr, p, m - 1)

    @property
    def values(self) -> np.ndarray:
        """Per-entry values of ``Ar1`` with the plain response (built on demand, not kept)."""
        values = self.values_conditioned.copy()
        ar1 = self.stats.Ar1
        last = ar1[self.m - 1]
        last = np.asarray(last.toarray() if sp.issparse(last) else last, dtype=float)
        values[self.rows == self.m - 1] = last.reshape(-1, self.size1)
        return values

    def with_response(self, stats: SufficientStats, ar1_y: np.ndarray) -> Workspace:
        """The workspace of ``stats``, which differ from ours only in the response's row.

        ``ar1_y`` is the new last row of ``Ar1`` (dense, ``l1 * p1``).
        """
        values = self.values_conditioned.copy()  # equal to the plain values but on y's entries
        values[self.rows == self.m - 1] = np.asarray(ar1_y, dtype=float).reshape(-1, self.size1)
        return Workspace(stats, _pattern=(self.ptr, self.rows, values), _sparse=self.sparse)

    # -- scratch ----------------------------------------------------------------------------
    def _buffers(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        local = self._local
        if not hasattr(local, "S"):
            local.S = np.empty((self.m, self.m))
            local.L11 = np.empty((self.levels1, self.size1, self.size1))
            local.W = np.empty((self.levels1, self.size1, self.size1))
            local.scale = np.ones(self.m)
        return local.S, local.L11, local.W

    # -- evaluation -------------------------------------------------------------------------
    def evaluate(
        self,
        lam1: np.ndarray,
        rest_lambdas: list[np.ndarray] | tuple[np.ndarray, ...],
        conditioned: bool = False,
        dense: bool = False,
    ) -> Evaluation | None:
        """Factor at the given lambdas; None when the rest's matrix is not positive definite.

        The factor stays in this thread's buffers until the next call (see
        :meth:`current_factor`). ``conditioned``: factor A with the response ``y - X b0``
        instead (same objective, smooth in theta; its factor's last row differs). ``dense``:
        factor the rest densely even where the sparse route would be taken, so that
        :meth:`current_factor` holds the factor (the sparse route leaves the buffer as it was).
        """
        lam1 = np.ascontiguousarray(lam1, dtype=float)
        route = self.dense_route if dense else self.route
        return route.evaluate(self, lam1, rest_lambdas, conditioned)

    def current_factor(self) -> tuple[np.ndarray, np.ndarray]:
        """This thread's ``L11`` and lower-triangular ``Lrr`` from the last evaluate.

        ``L11`` is a copy, except for a one-block model cut in level chunks, whose buffers no
        compiled closure holds: it is handed over and the scratch ``W`` freed.

        Above the fused size, ``Lrr`` is the thread's buffer itself, its upper triangle
        zeroed, handed over rather than copied (for a 10^4 rest that saves a copy of 800 MB
        and np.tril's mask); the next evaluation in this thread allocates a new buffer. Small
        buffers, which compiled closures may hold on to, are copied.
        """
        S, L11, _ = self._buffers()
        if self.level_chunks is not None:  # large one-block buffers: no closure holds them
            local = self._local
            del local.S, local.L11, local.W  # L11 handed over, W freed; new ones next time
            return L11, np.tril(S)
        if self.fused or self.m <= SMALL_CHOLESKY:
            return L11.copy(), np.tril(S)
        del self._local.S
        for i in range(S.shape[0] - 1):
            S[i, i + 1 :] = 0.0
        return L11.copy(), S
