"""The reweighted system of several random-effect blocks, "first block + dense rest", compiled.

For a GLMM with more than one grouping factor, every PIRLS iteration solves
``(Lambda' Z' W Z Lambda + I) u = Lambda' Z' W r`` (and, with beta updated jointly, the
fixed effects too). The engine's blocked Cholesky splits the unknowns into the first block
(most levels; block diagonal per level) and the rest (the other blocks' effects, X's columns;
one dense matrix), as MixedModels.jl does. :func:`rest_plan` finds, once, which rest rows
co-occur with every level of the first block (complete groups of a vector block: Lambda mixes
a group's rows); :func:`rest_system` is then one compiled pass per iteration: the weighted
products (the reweighting plan's accumulation), Lambda, the per-level factors ``L11_g``, their
rank updates of the rest, the rest's dense Cholesky and the two triangular solves. Its answers
are those of :func:`~mixedmodels.linalg.update_factor` and
:func:`~mixedmodels.linalg.solve_at_optimum` on
:func:`~mixedmodels.linalg.reweight.reweighted_workspace` (the tests check both against a
dense solve).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from mixedmodels.linalg.reweight import _accumulate

__all__ = ["RestPlan", "rest_plan", "rest_system", "MAX_REST"]

MAX_REST = 1500  # rest dimensions (random effects outside the first block + p) up to which
#                  the dense rest is factored here; larger ones take the engine's routes
MAX_PATTERN = 20_000_000  # entries of the per-level pattern times the first block's size


@dataclass(frozen=True, eq=False)
class RestPlan:
    """What does not change with the weights, for :func:`rest_system`.

    Build with :func:`rest_plan`. Rows of the rest: the other blocks' effects (block by
    block, level by level, ``q_rest`` of them), X's columns, the response (last).
    """

    codes1: np.ndarray  # (n,) first block's level of every row
    Z1: np.ndarray  # (n, s1)
    rest_codes: np.ndarray  # (k, n) the other blocks' levels
    rest_Z: np.ndarray  # (n, sum of their sizes)
    rest_zoff: np.ndarray  # (k,) column offsets in rest_Z
    rest_sizes: np.ndarray  # (k,)
    rest_roff: np.ndarray  # (k,) first rest row of every block
    X: np.ndarray  # (n, p), C order (p = 0: beta held fixed)
    entry_k: np.ndarray  # (n, sum of sizes) pattern position of each row's rest entries
    level_k: np.ndarray  # (l1, p + 1) pattern position of X's rows and y's row per level
    ptr: np.ndarray  # (l1 + 1,) level g's pattern is rows[ptr[g]:ptr[g + 1]], sorted
    rows: np.ndarray
    row_block: np.ndarray  # (m,) rest block of a rest row, -1 for X's and y's rows
    row_start: np.ndarray  # (m,) first row of the row's group (its block's level)
    diagonal: int  # leading rest rows whose part of the rest stays block diagonal (0: none)

    @property
    def n(self) -> int:
        """Number of observations."""
        return self.codes1.size

    @property
    def p(self) -> int:
        """Columns of X in the system."""
        return self.X.shape[1]

    @property
    def q_rest(self) -> int:
        """Random effects outside the first block."""
        return int(self.row_block.size - self.p - 1)

    @property
    def m(self) -> int:
        """Rows of the rest, the response's included."""
        return int(self.row_block.size)


def rest_plan(blocks, X: np.ndarray) -> RestPlan | None:
    """The plan of :func:`rest_system` for ``blocks`` (first = most levels) and ``X``.

    None for one block, or where the rest is too large for a dense factor
    (:data:`MAX_REST`) or the pattern too large (:data:`MAX_PATTERN`).
    """
    blocks = [(np.asarray(c, dtype=np.int64), np.asarray(z, float), int(k)) for c, z, k in blocks]
    if len(blocks) < 2:
        return None
    X = np.ascontiguousarray(X, dtype=float)
    n, p = X.shape
    codes1, Z1, levels1 = blocks[0]
    rest = blocks[1:]
    sizes = np.array([z.shape[1] for _, z, _ in rest], dtype=np.int64)
    counts = np.array([k for _, _, k in rest], dtype=np.int64)
    q_rest = int(np.sum(sizes * counts))
    m = q_rest + p + 1
    if m - 1 > MAX_REST:
        return None
    roff = np.concatenate([[0], np.cumsum(sizes * counts)])[:-1].astype(np.int64)
    zoff = np.concatenate([[0], np.cumsum(sizes)])[:-1].astype(np.int64)
    base = codes1 * m
    entry_rows = np.empty((n, int(sizes.sum())), dtype=np.int64)
    for i, (codes, _, _) in enumerate(rest):
        for b in range(sizes[i]):
            entry_rows[:, zoff[i] + b] = roff[i] + codes * sizes[i] + b
    pieces = [(base[:, None] + entry_rows).ravel()]
    for c in range(p):
        nonzero = X[:, c] != 0.0
        pieces.append(base[nonzero] + q_rest + c)
    pieces.append(np.arange(levels1, dtype=np.int64) * m + (m - 1))
    keys = np.concatenate(pieces)
    keys.sort()
    keys = keys[np.r_[True, keys[1:] != keys[:-1]]]
    if keys.size * Z1.shape[1] > MAX_PATTERN:
        return None
    rows = keys % m
    ptr = np.zeros(levels1 + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys // m, minlength=levels1), out=ptr[1:])
    entry_k = np.searchsorted(keys, base[:, None] + entry_rows).astype(np.int64)
    level_k = np.full((levels1, p + 1), -1, dtype=np.int64)
    all_levels = np.arange(levels1, dtype=np.int64) * m
    for c in range(p + 1):
        wanted = all_levels + q_rest + c
        at = np.minimum(np.searchsorted(keys, wanted), keys.size - 1)
        level_k[:, c] = np.where(keys[at] == wanted, at, -1)
    row_block = np.full(m, -1, dtype=np.int64)
    row_start = np.arange(m, dtype=np.int64)
    for i in range(len(rest)):
        span = np.arange(roff[i], roff[i] + sizes[i] * counts[i])
        row_block[span] = i
        row_start[span] = roff[i] + (span - roff[i]) // sizes[i] * sizes[i]
    # the second block stays block diagonal in the rest when no level of the first block
    # meets two of its levels (e.g. nested in the first, or an observation-level first)
    diagonal = int(sizes[0] * counts[0])
    in_second = rows < diagonal
    per_level = np.bincount((keys // m)[in_second], minlength=levels1)
    if per_level.size and per_level.max() > sizes[0]:
        diagonal = 0
    return RestPlan(
        codes1=codes1,
        Z1=np.ascontiguousarray(Z1),
        rest_codes=np.ascontiguousarray(np.vstack([c for c, _, _ in rest])),
        rest_Z=np.ascontiguousarray(np.hstack([z for _, z, _ in rest])),
        rest_zoff=zoff,
        rest_sizes=sizes,
        rest_roff=roff,
        X=X,
        entry_k=np.ascontiguousarray(entry_k),
        level_k=level_k,
        ptr=ptr,
        rows=rows.astype(np.int64),
        row_block=row_block,
        row_start=row_start,
        diagonal=diagonal,
    )


def rest_lambdas(lambdas) -> np.ndarray:
    """The rest blocks' lambdas stacked into ``(k, s, s)`` (zero padded) for the kernels."""
    rest = lambdas[1:]
    s = max((lam.shape[0] for lam in rest), default=1)
    out = np.zeros((len(rest), s, s))
    for i, lam in enumerate(rest):
        out[i, : lam.shape[0], : lam.shape[1]] = lam
    return out


@njit(cache=True)
def _cholesky(S, lo, d):  # pragma: no cover - compiled
    """Lower Cholesky of ``S[lo:d, lo:d]`` in place; False where not positive definite.

    The lower triangle is read; columns before ``lo`` are already eliminated.

    A compiled loop rather than LAPACK: as fast for the dense rests allowed here
    (:data:`MAX_REST`), and no BLAS threads (which spin on a busy machine).
    """
    for a in range(lo, d):
        acc = S[a, a]
        for k in range(lo, a):
            acc -= S[a, k] * S[a, k]
        if not acc > 0.0:
            return False
        piv = math.sqrt(acc)
        S[a, a] = piv
        for b in range(a + 1, d):
            acc = S[b, a]
            for k in range(lo, a):
                acc -= S[b, k] * S[a, k]
            S[b, a] = acc / piv
    return True


@njit(cache=True)
def _eliminate_diagonal(S, t, size, d, nonzero):  # pragma: no cover - compiled
    """Factor the leading ``t`` rows of ``S`` and update ``S[t:d, t:d]`` by their columns.

    The leading rows are block diagonal (``size`` x ``size`` groups); their zero rows are
    skipped. False where a group is not positive definite.
    """
    for start in range(0, t, size):
        if not _cholesky(S, start, start + size):
            return False
        count = 0
        for b in range(t, d):  # row b of L21: S[b, group] L_g^-T
            any_nonzero = False
            for a in range(size):
                acc = S[b, start + a]
                for k in range(a):
                    acc -= S[b, start + k] * S[start + a, start + k]
                acc /= S[start + a, start + a]
                S[b, start + a] = acc
                if acc != 0.0:
                    any_nonzero = True
            if any_nonzero:
                nonzero[count] = b
                count += 1
        for i1 in range(count):
            b1 = nonzero[i1]
            for i2 in range(i1 + 1):
                b2 = nonzero[i2]
                acc = 0.0
                for a in range(size):
                    acc += S[b1, start + a] * S[b2, start + a]
                S[b1, b2] -= acc
    return True


@njit(cache=True)
def rest_system(  # pragma: no cover - compiled
    w,
    r,
    codes1,
    Z1,
    rest_codes,
    rest_Z,
    zoff,
    sizes,
    roff,
    entry_k,
    level_k,
    ptr,
    rows,
    row_block,
    row_start,
    diagonal,
    X,
    lam1,
    lams,
    L11,
    u1,
    xr,
):
    """Factor and solve the reweighted system for weights ``w`` and working response ``r``.

    Fills ``L11`` (per-level factors of the first block), ``u1`` (its solution, ``(l1, s1)``)
    and ``xr`` (the rest's solution: the other blocks' spherical effects, then beta); returns
    ``(log|L_Z|^2, log|R_X|^2, ok)``, ok False where the system is not positive definite.
    """
    levels1, s1 = u1.shape
    m = row_block.size
    d = m - 1
    q_rest = d - X.shape[1]
    A11 = np.zeros((levels1, s1, s1))
    values = np.zeros((rows.size, s1))
    Arr = np.zeros((m, m))
    _accumulate(
        w,
        r,
        codes1,
        Z1,
        rest_codes,
        rest_Z,
        zoff,
        sizes,
        roff,
        entry_k,
        level_k,
        X,
        A11,
        values,
        Arr,
    )
    # Lambda' Arr Lambda on the rest's random rows: scalar blocks scale rows and columns,
    # vector blocks mix their groups' rows (then columns) of the full symmetric matrix
    scale = np.ones(m)
    vector = False
    for row in range(q_rest):
        i = row_block[row]
        if sizes[i] == 1:
            scale[row] = lams[i, 0, 0]
        else:
            vector = True
    for i in range(m):
        for j in range(i + 1):
            Arr[i, j] *= scale[i] * scale[j]
    tmp = np.empty(m)
    if vector:
        for i in range(m):
            for j in range(i):
                Arr[j, i] = Arr[i, j]
        for start in range(q_rest):
            i = row_block[start]
            size = sizes[i]
            if size == 1 or row_start[start] != start:
                continue
            for col in range(m):  # rows: lam' Arr[group, col]
                for a in range(size):
                    acc = 0.0
                    for b in range(a, size):
                        acc += lams[i, b, a] * Arr[start + b, col]
                    tmp[a] = acc
                for a in range(size):
                    Arr[start + a, col] = tmp[a]
            for row in range(m):  # columns: Arr[row, group] lam
                for a in range(size):
                    acc = 0.0
                    for b in range(a, size):
                        acc += Arr[row, start + b] * lams[i, b, a]
                    tmp[a] = acc
                for a in range(size):
                    Arr[row, start + a] = tmp[a]
    for a in range(q_rest):
        Arr[a, a] += 1.0
    M = np.empty((s1, s1))
    logdet_z = 0.0
    col = np.empty(s1)
    for g in range(levels1):
        lo, hi = ptr[g], ptr[g + 1]
        # M = lam1' A11 lam1 + I = L L' (A11 holds its lower triangle)
        for a in range(s1):
            for b in range(s1):
                acc = 0.0
                for k in range(s1):
                    inner = 0.0
                    for c in range(s1):
                        akc = A11[g, k, c] if k >= c else A11[g, c, k]
                        inner += akc * lam1[c, b]
                    acc += lam1[k, a] * inner
                M[a, b] = acc + (1.0 if a == b else 0.0)
        for a in range(s1):
            acc = M[a, a]
            for k in range(a):
                acc -= L11[g, a, k] * L11[g, a, k]
            if not acc > 0.0:
                return 0.0, 0.0, False
            piv = math.sqrt(acc)
            L11[g, a, a] = piv
            logdet_z += 2.0 * math.log(piv)
            for b in range(a + 1, s1):
                acc = M[b, a]
                for k in range(a):
                    acc -= L11[g, b, k] * L11[g, a, k]
                L11[g, b, a] = acc / piv
            for b in range(a):
                L11[g, b, a] = 0.0
        # the level's rows of Ar1: Lambda_rest' (rows) and lam1 (columns), then L^-1
        k = lo
        while k < hi:
            row = rows[k]
            if row >= q_rest or sizes[row_block[row]] == 1:
                for a in range(s1):
                    values[k, a] *= scale[row]
                k += 1
                continue
            i = row_block[row]  # a vector block's group starts here (groups are complete)
            size = sizes[i]
            for a in range(s1):
                for b in range(size):
                    acc = 0.0
                    for c in range(b, size):
                        acc += lams[i, c, b] * values[k + c, a]
                    tmp[b] = acc
                for b in range(size):
                    values[k + b, a] = tmp[b]
            k += size
        for k in range(lo, hi):
            for a in range(s1):
                acc = 0.0
                for b in range(a, s1):
                    acc += values[k, b] * lam1[b, a]
                col[a] = acc
            for a in range(s1):
                acc = col[a]
                for b in range(a):
                    acc -= L11[g, a, b] * values[k, b]
                values[k, a] = acc / L11[g, a, a]
        # rank-s1 update of the rest (lower triangle)
        for k1 in range(lo, hi):
            r1 = rows[k1]
            for k2 in range(lo, k1 + 1):
                acc = 0.0
                for a in range(s1):
                    acc += values[k1, a] * values[k2, a]
                Arr[r1, rows[k2]] -= acc
    # the rest's Cholesky (leading d x d) and the forward solve of its right-hand side
    if diagonal and not _eliminate_diagonal(Arr, diagonal, sizes[0], d, np.empty(d, np.int64)):
        return 0.0, 0.0, False
    if not _cholesky(Arr, diagonal, d):
        return 0.0, 0.0, False
    L = Arr
    logdet_x = 0.0
    for a in range(d):
        if not L[a, a] > 0.0 or not math.isfinite(L[a, a]):
            return 0.0, 0.0, False
        if a < q_rest:
            logdet_z += 2.0 * math.log(L[a, a])
        else:
            logdet_x += 2.0 * math.log(L[a, a])
    for a in range(d):  # L h = c (c: the response's row after the updates)
        acc = Arr[m - 1, a]
        for k in range(a):
            acc -= L[a, k] * xr[k]
        xr[a] = acc / L[a, a]
    for a in range(d - 1, -1, -1):  # L' x = h
        acc = xr[a]
        for k in range(a + 1, d):
            acc -= L[k, a] * xr[k]
        xr[a] = acc / L[a, a]
    # the first block: L11' u1 = h1 - L21' x
    for g in range(levels1):
        lo, hi = ptr[g], ptr[g + 1]
        for a in range(s1):
            col[a] = values[hi - 1, a]  # the response's row: L11^-1 lam1' Z1' W r
        for k in range(lo, hi - 1):
            xk = xr[rows[k]]
            for a in range(s1):
                col[a] -= values[k, a] * xk
        for a in range(s1 - 1, -1, -1):
            acc = col[a]
            for b in range(a + 1, s1):
                acc -= L11[g, b, a] * u1[g, b]
            u1[g, a] = acc / L11[g, a, a]
    return logdet_z, logdet_x, True
