"""Compiled inner loops of one objective evaluation (numba, compiled once and cached on disk).

Every kernel works on preallocated arrays in place. The dense Schur complement ``S`` is kept
in C order with only its lower triangle meaningful, which is LAPACK's upper triangle in Fortran
order: ``dpotrf('U')`` on ``S.T`` then leaves the lower Cholesky factor in ``S``'s lower triangle.

Notation (see :mod:`mixedmodels.linalg.factor`): the first block has ``l1`` levels of size
``p1``; ``ptr``/``rows``/``C`` hold, level by level, the rows of ``Ar1`` that are not zero in
that level's columns and the values there (``C[k, a] = Ar1[rows[k], g * p1 + a]``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "first_block",
    "schur_lower",
    "scale_rest",
    "transform_rest",
    "small_cholesky",
    "log_diagonal",
    "gather_quadratic",
    "schur_lower_rows",
    "evaluate_one_block",
    "evaluate_small_rest",
    "first_block_levels",
    "level_products",
    "one_block_chunk",
    "finish_one_block",
    "copy_lower",
    "level_factor_products",
]


@njit(cache=True, nogil=True)
def first_block(A11, lam, L11, W):  # pragma: no cover - compiled
    """Per level ``M_g = lam' A11_g lam + I = L11_g L11_g'`` and the factor of ``lam M_g^-1 lam'``.

    Fills ``L11`` and ``W`` (both ``(l1, p1, p1)``) and returns ``sum_g log det M_g``. For
    ``p1 = 1``, ``W_g = lam^2 / M_g`` (``lam M_g^-1 lam'`` itself); for ``p1 > 1``,
    ``W_g = K_g = lam L11_g^-T`` with ``K_g K_g' = lam M_g^-1 lam'`` (see
    :func:`level_products`).
    """
    return first_block_levels(A11, lam, L11, W, 0, A11.shape[0])


@njit(cache=True, nogil=True)
def first_block_levels(A11, lam, L11, W, g0, g1):  # pragma: no cover - compiled
    """:func:`first_block` for levels ``g0:g1``; returns their sum of ``log det M_g``."""
    p = A11.shape[1]
    logdet = 0.0
    if p == 1:
        t2 = lam[0, 0] * lam[0, 0]
        for g in range(g0, g1):
            m = t2 * A11[g, 0, 0] + 1.0
            L11[g, 0, 0] = np.sqrt(m)
            W[g, 0, 0] = t2 / m
            logdet += np.log(m)
        return logdet
    AL = np.empty((p, p))
    M = np.empty((p, p))
    B = np.empty((p, p))
    for g in range(g0, g1):
        # AL = A11_g lam
        for i in range(p):
            for j in range(p):
                s = 0.0
                for k in range(p):
                    s += A11[g, i, k] * lam[k, j]
                AL[i, j] = s
        # M = lam' AL + I
        for i in range(p):
            for j in range(p):
                s = 0.0
                for k in range(p):
                    s += lam[k, i] * AL[k, j]
                M[i, j] = s
            M[i, i] += 1.0
        # Cholesky of M into L11[g]
        for j in range(p):
            s = M[j, j]
            for k in range(j):
                s -= L11[g, j, k] * L11[g, j, k]
            d = np.sqrt(s)
            L11[g, j, j] = d
            logdet += 2.0 * np.log(d)
            for i in range(j + 1, p):
                s = M[i, j]
                for k in range(j):
                    s -= L11[g, i, k] * L11[g, j, k]
                L11[g, i, j] = s / d
            for i in range(j):
                L11[g, i, j] = 0.0
        # B' = L^-1 lam'  (forward substitution, column by column of lam')
        for c in range(p):
            for i in range(p):
                s = lam[c, i]
                for k in range(i):
                    s -= L11[g, i, k] * B[k, c]
                B[i, c] = s / L11[g, i, i]
        # K = B = (B')' = lam L^-T, so that lam M^-1 lam' = K K'. The products with Ar1 are
        # formed as (Ar1_g K)(Ar1_g K)': K K' itself has entries of order |lam|^2 along the
        # null space of A11_g (a level with fewer rows than columns), whose rounding the
        # products with Ar1 would carry into the Schur complement
        for a in range(p):
            for b in range(p):
                W[g, a, b] = B[b, a]
    return logdet


@njit(cache=True, nogil=True)
def schur_lower(S, Arr, last, ptr, rows, C, W):  # pragma: no cover - compiled
    """Lower triangle of ``S = Arr - Ar1 blockdiag(W) Ar1'``, written into ``S``.

    ``last`` replaces Arr's last row (the response's; see ``Workspace``'s conditioning).
    """
    copy_lower(S, Arr, last)
    level_products(S, ptr, rows, C, W, 0, ptr.shape[0] - 1, -1.0)


@njit(cache=True, nogil=True)
def copy_lower(S, Arr, last):  # pragma: no cover - compiled
    """``S``'s lower triangle from ``Arr``'s, its last row from ``last``."""
    m = S.shape[0]
    for i in range(m - 1):
        for j in range(i + 1):
            S[i, j] = Arr[i, j]
    for j in range(m):
        S[m - 1, j] = last[j]


@njit(cache=True, nogil=True)
def level_products(T, ptr, rows, C, W, g0, g1, sign):  # pragma: no cover - compiled
    """``T += sign * Ar1_g lam M_g^-1 lam' Ar1_g'`` (lower triangle) for the levels ``g0:g1``.

    In level order; ``W`` as :func:`first_block` leaves it. With ``sign = -1`` each term is
    subtracted (``x + (-1 * s)`` is ``x - s`` exactly).
    """
    p = C.shape[1]
    if p == 1:
        for g in range(g0, g1):
            start = ptr[g]
            stop = ptr[g + 1]
            w = W[g, 0, 0]
            for b in range(start, stop):
                rb = rows[b]
                cb = w * C[b, 0]
                for a in range(start, b + 1):
                    T[rb, rows[a]] += sign * (cb * C[a, 0])
        return
    width = 0
    for g in range(g0, g1):
        width = max(width, ptr[g + 1] - ptr[g])
    D = np.empty((width, p))
    for g in range(g0, g1):  # D = Ar1_g K_g, then Ar1_g W_g Ar1_g' = D D'
        start = ptr[g]
        stop = ptr[g + 1]
        for b in range(stop - start):
            for j in range(p):
                s = 0.0
                for k in range(p):
                    s += C[start + b, k] * W[g, k, j]
                D[b, j] = s
        for b in range(start, stop):
            rb = rows[b]
            for a in range(start, b + 1):
                s = 0.0
                for k in range(p):
                    s += D[b - start, k] * D[a - start, k]
                T[rb, rows[a]] += sign * s


@njit(cache=True, nogil=True)
def scale_rest(S, scale, q_rest):  # pragma: no cover - compiled
    """``S <- D S D + I_z`` on the lower triangle, ``D = diag(scale)`` (scalar rest blocks)."""
    m = S.shape[0]
    for i in range(m):
        di = scale[i]
        for j in range(i + 1):
            S[i, j] *= di * scale[j]
    for i in range(q_rest):
        S[i, i] += 1.0


@njit(cache=True, nogil=True)
def transform_rest(S, offsets, levels, sizes, lams, q_rest):  # pragma: no cover - compiled
    """``S <- Lr' S Lr + I_z`` on the lower triangle for block-diagonal ``Lr``.

    Rest block ``k`` starts at row ``offsets[k]`` and has ``levels[k]`` copies of the
    ``sizes[k] x sizes[k]`` matrix ``lams[k]`` on its diagonal; rows past the last block
    (X and y) are left alone.
    """
    m = S.shape[0]
    n_blocks = offsets.shape[0]
    smax = lams.shape[1]
    tmp = np.empty(smax)
    # complete the diagonal level blocks, so that left and right products see full blocks
    for k in range(n_blocks):
        s = sizes[k]
        for lev in range(levels[k]):
            g0 = offsets[k] + lev * s
            for a in range(s):
                for b in range(a + 1, s):
                    S[g0 + a, g0 + b] = S[g0 + b, g0 + a]
    # left: rows of group I times lam', columns up to the group's end
    for k in range(n_blocks):
        s = sizes[k]
        for lev in range(levels[k]):
            g0 = offsets[k] + lev * s
            for j in range(g0 + s):
                for a in range(s):
                    acc = 0.0
                    for b in range(s):
                        acc += lams[k, b, a] * S[g0 + b, j]
                    tmp[a] = acc
                for a in range(s):
                    S[g0 + a, j] = tmp[a]
    # right: columns of group J times lam, rows from the group's start
    for k in range(n_blocks):
        s = sizes[k]
        for lev in range(levels[k]):
            g0 = offsets[k] + lev * s
            for i in range(g0, m):
                for a in range(s):
                    acc = 0.0
                    for b in range(s):
                        acc += S[i, g0 + b] * lams[k, b, a]
                    tmp[a] = acc
                for a in range(s):
                    S[i, g0 + a] = tmp[a]
    for i in range(q_rest):
        S[i, i] += 1.0


@njit(cache=True, nogil=True)
def small_cholesky(S):  # pragma: no cover - compiled
    """In-place lower Cholesky of a small matrix (its lower triangle).

    Returns 0, or the failing column + 1 when the matrix is not positive definite.
    """
    m = S.shape[0]
    for j in range(m):
        s = S[j, j]
        for k in range(j):
            s -= S[j, k] * S[j, k]
        if not s > 0.0:
            return j + 1
        d = np.sqrt(s)
        S[j, j] = d
        for i in range(j + 1, m):
            s = S[i, j]
            for k in range(j):
                s -= S[i, k] * S[j, k]
            S[i, j] = s / d
    return 0


@njit(cache=True, nogil=True)
def log_diagonal(S, start, stop):  # pragma: no cover - compiled
    """``2 * sum(log(diag(S)[start:stop]))``."""
    out = 0.0
    for i in range(start, stop):
        out += np.log(S[i, i])
    return 2.0 * out


@njit(cache=True, nogil=True)
def gather_quadratic(Q, ptr, rows, C, H):  # pragma: no cover - compiled
    """``H_g = C_g' Q C_g`` per level, over the level's rows below ``Q.shape[0]`` only."""
    qr = Q.shape[0]
    levels = ptr.shape[0] - 1
    p = C.shape[1]
    for g in range(levels):
        start = ptr[g]
        stop = start
        while stop < ptr[g + 1] and rows[stop] < qr:
            stop += 1
        for a in range(start, stop):
            ra = rows[a]
            for b in range(start, stop):
                q = Q[ra, rows[b]]
                for i in range(p):
                    ci = C[a, i] * q
                    for j in range(p):
                        H[g, i, j] += ci * C[b, j]


@njit(cache=True, nogil=True)
def schur_lower_rows(S, Arr, last, ptr, rows, C, W, row_ptr, row_entry, row_level, r0, r1):  # noqa: E501 # pragma: no cover
    """:func:`schur_lower` for the rows ``r0 <= r < r1`` of ``S`` only, organised by target row.

    ``row_entry[row_ptr[r]:row_ptr[r + 1]]`` are the positions ``k`` (in ``rows``/``C``) with
    ``rows[k] == r`` and ``row_level`` their levels. All writes of a call go to its own rows,
    one row at a time (cache friendly for a large ``S``), so disjoint row ranges can run on
    different threads; each entry is summed in the same order whatever the ranges are. For
    ``p1 > 1`` ``C`` holds the entries already multiplied by ``K_g``
    (:func:`level_factor_products`) and ``W`` is not read.
    """
    m = S.shape[0]
    p = C.shape[1]
    for r in range(r0, r1):
        if r == m - 1:
            for j in range(r + 1):
                S[r, j] = last[j]
        else:
            for j in range(r + 1):
                S[r, j] = Arr[r, j]
        for t in range(row_ptr[r], row_ptr[r + 1]):
            b = row_entry[t]
            g = row_level[t]
            start = ptr[g]
            if p == 1:
                cb = W[g, 0, 0] * C[b, 0]
                for a in range(start, b + 1):
                    S[r, rows[a]] -= cb * C[a, 0]
            else:  # C holds the entries times K_g (level_factor_products): C_b C_a'
                for a in range(start, b + 1):
                    s = 0.0
                    for k in range(p):
                        s += C[b, k] * C[a, k]
                    S[r, rows[a]] -= s


@njit(cache=True, nogil=True)
def level_factor_products(ptr, C, W, D):  # pragma: no cover - compiled
    """``D = C K_g`` for every entry of every level (``W`` from :func:`first_block`, p1 > 1)."""
    p = C.shape[1]
    for g in range(ptr.shape[0] - 1):
        for e in range(ptr[g], ptr[g + 1]):
            for j in range(p):
                s = 0.0
                for k in range(p):
                    s += C[e, k] * W[g, k, j]
                D[e, j] = s


@njit(cache=True, nogil=True)
def evaluate_one_block(A11, lam, Arr, last, ptr, rows, C, L11, W, S, p):  # pragma: no cover
    """One whole evaluation for a single grouping factor and a small ``[X y]`` block.

    Returns ``(status, log|L_Z|^2, log|R_X|^2, r^2)``; status 1 when not positive definite.
    """
    logdet1 = first_block(A11, lam, L11, W)
    schur_lower(S, Arr, last, ptr, rows, C, W)
    if small_cholesky(S) != 0:
        return 1, 0.0, 0.0, 0.0
    m = S.shape[0]
    r = S[m - 1, m - 1]
    return 0, logdet1, log_diagonal(S, 0, p), r * r


@njit(cache=True, nogil=True)
def evaluate_small_rest(A11, lam, Arr, last, ptr, rows, C, L11, W, S, p, scale, q_rest):  # noqa: E501 # pragma: no cover
    """One whole evaluation for a small rest of scalar blocks (penicillin, pastes).

    The steps of ``Workspace.evaluate`` for that case in one call: the first block, the
    Schur complement, ``D S D + I_z`` with ``D = diag(scale)``, and the small Cholesky.
    Returns ``(status, log|L_Z|^2, log|R_X|^2, r^2)``; status 1 when not positive definite.
    """
    logdet1 = first_block(A11, lam, L11, W)
    schur_lower(S, Arr, last, ptr, rows, C, W)
    scale_rest(S, scale, q_rest)
    if small_cholesky(S) != 0:
        return 1, 0.0, 0.0, 0.0
    m = S.shape[0]
    r = S[m - 1, m - 1]
    logdet_z = logdet1 + log_diagonal(S, 0, q_rest)
    return 0, logdet_z, log_diagonal(S, q_rest, q_rest + p), r * r


@njit(cache=True, nogil=True)
def condition_values(values, ptr, rows, b0, q_rest, p, last_row):  # pragma: no cover - compiled
    """Per level, the response's entries minus ``b0'`` times the X rows' entries, in place.

    ``values`` is a copy of the workspace's per-entry values (entries of a level in row order,
    X rows before the response's row ``last_row``); the shift of a level is summed over its X
    entries in that order.
    """
    size = values.shape[1]
    shift = np.empty(size)
    for g in range(ptr.shape[0] - 1):
        shift[:] = 0.0
        at_y = -1
        for e in range(ptr[g], ptr[g + 1]):
            r = rows[e]
            if q_rest <= r < q_rest + p:
                coef = b0[r - q_rest]
                for j in range(size):
                    shift[j] += coef * values[e, j]
            elif r == last_row:
                at_y = e
        if at_y >= 0:
            for j in range(size):
                values[at_y, j] -= shift[j]


@njit(cache=True, nogil=True)
def one_block_chunk(A11, lam, ptr, rows, C, L11, W, g0, g1, part):  # pragma: no cover
    """Levels ``g0:g1`` of a chunked one-block evaluation (see ``finish_one_block``).

    Fills those levels of ``L11`` and ``W``, sets ``part`` (lower triangle) to the sum of
    their ``Ar1_g W_g Ar1_g'`` and returns the sum of their ``log det M_g``.
    """
    logdet = first_block_levels(A11, lam, L11, W, g0, g1)
    m = part.shape[0]
    local = np.zeros((m, m))  # this thread's own sums: no cache line shared with another chunk
    level_products(local, ptr, rows, C, W, g0, g1, 1.0)
    for i in range(m):
        for j in range(i + 1):
            part[i, j] = local[i, j]
    return logdet


@njit(cache=True, nogil=True)
def finish_one_block(S, Arr, last, parts, logdets, p):  # pragma: no cover - compiled
    """``S = Arr - sum_c parts[c]`` in chunk order, its Cholesky factor, and the three numbers.

    Returns ``(status, log|L_Z|^2, log|R_X|^2, r^2)`` as ``evaluate_one_block``; the chunks'
    log determinants are summed in chunk order.
    """
    m = S.shape[0]
    copy_lower(S, Arr, last)
    for c in range(parts.shape[0]):
        for i in range(m):
            for j in range(i + 1):
                S[i, j] -= parts[c, i, j]
    logdet1 = 0.0
    for c in range(logdets.shape[0]):
        logdet1 += logdets[c]
    if small_cholesky(S) != 0:
        return 1, 0.0, 0.0, 0.0
    r = S[m - 1, m - 1]
    return 0, logdet1, log_diagonal(S, 0, p), r * r
