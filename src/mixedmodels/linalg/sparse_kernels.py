"""Compiled loops of the sparse route: the rest's matrix as one compact vector.

The sparse route (:mod:`mixedmodels.linalg.sparse_rest`) takes the rest's matrix as one
*compact* vector: the values of its lower triangle on a fixed pattern, in CHOLMOD's
column-major order (``S_zz``'s pattern and the dense rows of X and y). It is gathered from the
dense scatter's buffer, or computed straight from per-row-count sums
(:mod:`mixedmodels.linalg.grouped_schur`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "gather_pattern",
    "count_grouped",
    "store_grouped",
    "sliced_layout",
    "sliced_compact",
    "scalar_rest_pattern",
]

LANES = 8  # positions per slice of the sliced layout (one AVX-512 / two AVX2 registers)


@njit(cache=True, nogil=True)
def gather_pattern(out, S, I, J):  # pragma: no cover - compiled
    """``out[e] = S[I[e], J[e]]``: the compact vector from a dense lower triangle."""
    for e in range(I.shape[0]):
        out[e] = S[I[e], J[e]]


@njit(cache=True, nogil=True)
def count_grouped(ptr, rows, c, order, key_of_level, position, n_compact):  # pragma: no cover
    """Entries of ``G`` per compact position for the levels in ``order`` (first pass).

    ``G`` of :mod:`mixedmodels.linalg.grouped_schur` in CSR form by compact position: levels
    are visited in ``order`` (sorted by their key, the index of their row count) and the pairs
    ``c[a] c[b]`` of every level summed per (position, key), in level order; an exact zero sum
    is not stored. This pass counts the entries per position, :func:`store_grouped` then
    stores them, so the writes go forward through the output. Returns an empty array when a
    pair has no position.
    """
    count = np.zeros(n_compact, dtype=np.int64)
    dummy = np.zeros(0, dtype=np.int64)
    if _sweep(ptr, rows, c, order, key_of_level, position, n_compact, count, dummy, None, None):
        return dummy
    return count


@njit(cache=True, nogil=True)
def store_grouped(ptr, rows, c, order, key_of_level, position, cursor, keys, values):
    """Store the entries of ``G`` for the levels in ``order`` at ``cursor`` (second pass).

    ``cursor[e]`` is where position ``e``'s next entry goes; it is advanced.
    """  # pragma: no cover - compiled
    _sweep(ptr, rows, c, order, key_of_level, position, cursor.shape[0], cursor, cursor,
           keys, values)  # fmt: skip


@njit(cache=True, nogil=True)
def _sweep(ptr, rows, c, order, key_of_level, position, n_compact, count, cursor, keys, values):
    """One pass over the levels: count entries per position (``keys`` None) or store them.

    The sums of one key are gathered in a dense accumulator, which is then swept once.
    Returns True when a pair has no position.
    """  # pragma: no cover - compiled
    n_levels = order.shape[0]
    acc = np.zeros(n_compact)
    o = 0
    while o < n_levels:  # one run of levels with the same key at a time
        k = key_of_level[order[o]]
        while o < n_levels and key_of_level[order[o]] == k:
            g = order[o]
            for b in range(ptr[g], ptr[g + 1]):
                rb = rows[b]
                cb = c[b]
                for a in range(ptr[g], b + 1):
                    e = position[rb, rows[a]]
                    if e < 0:
                        return True
                    acc[e] += cb * c[a]
            o += 1
        for e in range(n_compact):
            if acc[e] != 0.0:
                if keys is None:
                    count[e] += 1
                else:
                    keys[cursor[e]] = k
                    values[cursor[e]] = acc[e]
                    cursor[e] += 1
                acc[e] = 0.0
    return False


@njit(cache=True, nogil=True)
def sliced_layout(indptr, keys, values, slot_of, slice_ptr, out_keys, out_values):
    """Copy ``G`` from CSR into the sliced layout (see ``sliced_compact``).

    Position ``e`` sits in slot ``slot_of[e]`` (slice ``slot // LANES``, lane ``slot % LANES``);
    its ``j``-th entry goes to ``slice_ptr[slice] + j * LANES + lane``. Padding stays as the
    caller filled it (value 0, key 0).
    """  # pragma: no cover - compiled
    for e in range(indptr.shape[0] - 1):
        slot = slot_of[e]
        at = slice_ptr[slot // LANES] + slot % LANES
        for t in range(indptr[e], indptr[e + 1]):
            out_keys[at] = keys[t]
            out_values[at] = values[t]
            at += LANES


@njit(cache=True, nogil=True)
def sliced_compact(
    out, position, slice_ptr, width, keys, values, weights, base, pair_class, factors,
    on_diagonal, start, stop,
):  # fmt: skip  # pragma: no cover - compiled
    """Slices ``start:stop`` of the compact vector from ``G`` in the sliced layout.

    The positions are sorted by their number of entries and cut into slices of ``LANES``;
    a slice stores its positions' ``j``-th entries side by side (padded with zeros to the
    longest), so the lanes are summed together. Each position's sum runs over its entries
    in CSR order (plus exact zeros): the same bits as a row-by-row sum. ``position[i]``
    is slot ``i``'s compact position (-1 for padding); ``base``, ``pair_class`` and
    ``on_diagonal`` are by slot.
    """
    acc = np.empty(LANES)
    for s in range(start, stop):
        for lane in range(LANES):
            acc[lane] = 0.0
        at = slice_ptr[s]
        for _ in range(width[s]):
            for lane in range(LANES):
                acc[lane] += values[at + lane] * weights[keys[at + lane]]
            at += LANES
        for lane in range(LANES):
            i = s * LANES + lane
            e = position[i]
            if e >= 0:
                out[e] = (base[i] - acc[lane]) * factors[pair_class[i]] + on_diagonal[i]


@njit(cache=True, nogil=True)
def scalar_rest_pattern(ptr, rows, Arr, q_rest):  # pragma: no cover - compiled
    """:func:`~mixedmodels.linalg.sparse_rest.rest_pattern` for scalar rest blocks.

    Marks every pair of rest rows met by a level of the first block, every non-zero of
    ``A_zz`` and the diagonal in a ``q x q`` byte array (column-major lower triangle), then
    lists the marks column by column: CHOLMOD's order.
    """
    marks = np.zeros((q_rest, q_rest), dtype=np.uint8)  # marks[j, i]: entry (i, j), i >= j
    for g in range(ptr.shape[0] - 1):
        for b in range(ptr[g], ptr[g + 1]):
            rb = rows[b]
            if rb >= q_rest:  # rows are sorted: X and y come last
                break
            for a in range(ptr[g], b + 1):
                marks[rows[a], rb] = 1
    for i in range(q_rest):
        marks[i, i] = 1
        for j in range(i):
            if Arr[i, j] != 0.0 or Arr[j, i] != 0.0:
                marks[j, i] = 1
    n = 0
    for j in range(q_rest):
        for i in range(j, q_rest):
            n += marks[j, i]
    I = np.empty(n, dtype=np.int64)
    J = np.empty(n, dtype=np.int64)
    n = 0
    for j in range(q_rest):
        for i in range(j, q_rest):
            if marks[j, i]:
                I[n] = i
                J[n] = j
                n += 1
    return I, J
