"""The sparse route's compact vector without the dense scatter, for a scalar first block.

With one random effect per level of the first block (``(1|s)``) and scalar rest blocks, the
rest's matrix at ``lambda1 = t`` is

``S = D (A_rr - sum_g w_g c_g c_g') D + I_z``,  ``w_g = t^2 / (t^2 a_g + 1)``,

where ``c_g`` is level ``g``'s column of ``A_r1``, ``a_g`` its diagonal entry of ``A_11`` and
``D`` holds the rest blocks' lambdas (1 on the rows of X and y). The weight of a level depends
on theta only through ``t`` and on the level only through ``a_g`` (its number of rows, without
prior weights), so levels with the same ``a_g`` can be summed once, at set-up:
``G_k = sum_{g: a_g = a_k} c_g c_g'``. InstEval's 2,972 students take 86 distinct row counts,
and the 2.5 million pairs of the per-level scatter become 1.3 million entries of ``G``, stored
by position of the sparse route's compact vector (see :mod:`mixedmodels.linalg.sparse_rest`).
One evaluation is then, per compact position ``e``,

``compact[e] = (base[e] - sum_k G[e, k] w_k) * f[e] + [e on the diagonal of S_zz]``,

a pass over ``G`` in storage order with no dense buffer, no gather and no random writes,
shared between threads by fixed ranges of positions (every position is summed by one thread
in one order: the same bits on any load and any number of threads).

Whether this route is used depends on the model's structure and row counts only.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from mixedmodels.linalg import sparse_kernels, tiled
from mixedmodels.linalg.sparse_rest import SparseRest

__all__ = ["GroupedSchur", "grouped_schur"]

MAX_SHARE_OF_LEVELS = 0.5  # distinct row counts per level above which grouping saves little
MAX_PAIRS = 50_000_000  # per-level pairs above which the set-up's transient memory is too big
RANGES = 16  # position ranges shared out on the tile pool (any number gives the same sums)


class GroupedSchur:
    """``G``, the base values and the scale classes of every compact position.

    Built by :func:`grouped_schur`; see the module's docstring for the formula. ``G`` comes
    in CSR form by compact position and is kept in a sliced layout: positions sorted by
    their number of entries, cut into slices of ``LANES`` whose entries lie side by side,
    so that one evaluation sums eight positions at a time (see benchmarks/results.md) with
    each position's sum in the same order as in CSR.
    """

    def __init__(
        self,
        sparse: SparseRest,
        counts: np.ndarray,
        indptr: np.ndarray,
        keys: np.ndarray,
        values: np.ndarray,
        base: np.ndarray,
        pair_class: np.ndarray,
        on_diagonal: np.ndarray,
        n_blocks: int,
    ) -> None:
        lanes = sparse_kernels.LANES
        self.sparse = sparse
        self.counts = counts
        self.n_blocks = n_blocks
        self._n_entries = int(values.size)
        per_position = np.diff(indptr)
        n = per_position.size
        slots = -(-n // lanes) * lanes
        # fewest entries first (stable; a radix sort when the counts fit in 16 bits)
        small = per_position.max(initial=0) < 2**16
        order = np.argsort(per_position.astype(np.uint16) if small else per_position, kind="stable")
        self.position = np.full(slots, -1, dtype=np.int64)
        self.position[:n] = order
        slot_of = np.empty(n, dtype=np.int64)
        slot_of[order] = np.arange(n)
        padded = np.zeros(slots, dtype=np.int64)
        padded[:n] = per_position[order]
        self.width = padded.reshape(-1, lanes).max(axis=1)
        self.slice_ptr = np.zeros(self.width.size + 1, dtype=np.int64)
        np.cumsum(self.width * lanes, out=self.slice_ptr[1:])
        key_type = np.uint8 if counts.size <= 256 else np.int32
        self.keys = np.zeros(int(self.slice_ptr[-1]), dtype=key_type)
        self.values = np.zeros(int(self.slice_ptr[-1]))
        sparse_kernels.sliced_layout(
            indptr, keys.astype(key_type), values, slot_of, self.slice_ptr, self.keys, self.values
        )
        by_slot = np.where(self.position >= 0, self.position, 0)
        self.base = base[by_slot]
        self.pair_class = pair_class[by_slot]
        self.on_diagonal = on_diagonal[by_slot]
        work = np.cumsum(self.width + 1)  # entries per slice, and its write-back
        edges = np.searchsorted(work, np.linspace(0, work[-1], RANGES + 1))
        edges = np.clip(edges, 0, self.width.size)
        edges[0], edges[-1] = 0, self.width.size
        self.ranges = [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]

    @property
    def n_entries(self) -> int:
        """Stored entries of ``G`` (without the slices' padding)."""
        return self._n_entries

    def compact(self, t: float, rest_lambdas) -> np.ndarray:
        """The compact vector at ``lambda1 = t`` and the rest blocks' (1 x 1) lambdas."""
        t2 = t * t
        weights = t2 / (t2 * self.counts + 1.0)
        scales = np.ones(self.n_blocks + 1)
        for b, lam in enumerate(rest_lambdas):
            scales[b] = lam[0, 0]
        factors = np.multiply.outer(scales, scales).reshape(-1)
        out = self.sparse.buffer()
        args = (
            out,
            self.position,
            self.slice_ptr,
            self.width,
            self.keys,
            self.values,
            weights,
            self.base,
            self.pair_class,
            factors,
            self.on_diagonal,
        )
        kernel = sparse_kernels.sliced_compact
        tiled.run_tasks([partial(kernel, *args, a, b) for a, b in self.ranges])
        return out


def grouped_schur(workspace, sparse: SparseRest) -> GroupedSchur | None:
    """The grouped form of the workspace's conditioned rest matrix, or None where it does not apply.

    It applies to a first block with one random effect per level, scalar rest blocks, and
    row counts shared by at least two levels on average (``A_11``'s diagonal takes at most
    half as many distinct values as there are levels: prior weights usually make every level's
    weight distinct).
    """
    stats = workspace.stats
    if workspace.size1 != 1 or not workspace.scalar_rest or not workspace.q_rest:
        return None
    if workspace.pairs > MAX_PAIRS:
        return None
    a11 = np.asarray(stats.A11, dtype=float).reshape(-1)
    counts, key_of_level = np.unique(a11, return_inverse=True)
    if counts.size > MAX_SHARE_OF_LEVELS * a11.size:
        return None
    m, qr = workspace.m, workspace.q_rest
    n_blocks = workspace.rest_levels.size
    block_of_row = np.full(m, n_blocks, dtype=np.int64)
    block_of_row[:qr] = np.repeat(np.arange(n_blocks), workspace.rest_levels)
    row, col = sparse.I, sparse.J  # every stored position's row and column of S (row >= col)
    last = workspace.last_conditioned
    base = np.where(row == m - 1, last[col], stats.Arr[row, col])
    pair_class = (block_of_row[row] * (n_blocks + 1) + block_of_row[col]).astype(np.int64)
    on_diagonal = ((row == col) & (row < qr)).astype(float)
    position = np.full((m, m), -1, dtype=np.int32 if base.size < 2**31 else np.int64)
    position[row, col] = np.arange(base.size)
    order = np.argsort(key_of_level, kind="stable").astype(np.int64)
    parts = _build(workspace, order, key_of_level.astype(np.int64), position, base.size)
    if parts is None:  # a pair outside the pattern: cannot happen for a valid pattern
        return None
    indptr, keys, values = parts
    return GroupedSchur(
        sparse, counts, indptr, keys, values, base, pair_class, on_diagonal, n_blocks
    )


def _build(workspace, order, key_of_level, position, n_compact):
    """``G`` in CSR form: two halves of the keys counted, then stored, on the tile pool.

    The halves are cut at a key (by pair count, a function of the data only). Each position's
    entries of the first half are stored before those of the second, so the result is the
    same as one pass over all keys, on any number of threads.
    """
    c = np.ascontiguousarray(workspace.values_conditioned[:, 0])
    ptr, rows = workspace.ptr, workspace.rows
    pairs = np.diff(ptr)[order] ** 2
    cut = int(np.searchsorted(np.cumsum(pairs), pairs.sum() / 2))
    keys_sorted = key_of_level[order]
    while 0 < cut < order.size and keys_sorted[cut] == keys_sorted[cut - 1]:
        cut += 1  # never split one key's levels
    halves = [order[:cut], order[cut:]]
    args = (ptr, rows, c)
    counts = tiled.run_tasks(
        [
            lambda part=part: sparse_kernels.count_grouped(
                *args, part, key_of_level, position, n_compact
            )
            for part in halves
        ]
    )
    if any(count.size != n_compact for count in counts):
        return None
    indptr = np.zeros(n_compact + 1, dtype=np.int64)
    np.cumsum(counts[0] + counts[1], out=indptr[1:])
    keys = np.empty(int(indptr[-1]), dtype=np.int32)
    values = np.empty(int(indptr[-1]))
    cursors = [indptr[:-1].copy(), indptr[:-1] + counts[0]]
    tiled.run_tasks(
        [
            lambda part=part, cursor=cursor: sparse_kernels.store_grouped(
                *args, part, key_of_level, position, cursor, keys, values
            )
            for part, cursor in zip(halves, cursors, strict=True)
        ]
    )
    return indptr, keys, values
