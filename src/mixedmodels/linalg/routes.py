"""The evaluation routes of the objective: one class each, chosen once per workspace by shape.

Every route computes, at the lambdas of the blocks, the three numbers the profiled objective
needs (``log|L_Z|^2``, ``log|R_X|^2``, ``r^2``: an :class:`Evaluation`),
from the workspace's precomputed pattern and its per-thread buffers. The first block is
factored level by level; the routes differ in how the rest (the other blocks, then X and y,
a dense matrix of dimension ``m = q_rest + p + 1``) is formed and factored:

======================  =====================================================================
route                   chosen when (:func:`choose_route`)
======================  =====================================================================
:class:`FusedOneBlock`  one block and ``m <= SMALL_CHOLESKY``: one compiled call
:class:`LevelChunks`    the same with at least ``CHUNKED_MIN_WORK``: level ranges on the pool
:class:`SmallRest`      more blocks, scalar ones after the first, ``m <= SMALL_CHOLESKY``
:class:`DenseRest`      otherwise: the Schur complement, then LAPACK or fixed tiles by ``m``
:class:`SparseRest`     CHOLMOD where the rest's pattern pays (``sparse_rest.worth_it``)
======================  =====================================================================

Each route has two entry points with the same numbers: :meth:`Route.evaluate` (any lambdas,
called by :meth:`Workspace.evaluate <mixedmodels.linalg.workspace.Workspace.evaluate>`) and
:meth:`Route.bind`, the optimiser's hot path: a closure over lambdas the caller fills in
place, which the fused and small routes turn into one compiled call without look-ups.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from scipy.linalg import lapack

from mixedmodels.linalg import kernels, tiled
from mixedmodels.linalg.threads import blas_limit

if TYPE_CHECKING:
    from mixedmodels.linalg.workspace import Workspace

__all__ = [
    "DenseRest",
    "Evaluation",
    "FusedOneBlock",
    "LevelChunks",
    "Parts",
    "Route",
    "SmallRest",
    "SparseRest",
    "choose_route",
]

SMALL_CHOLESKY = 48  # below this dimension our compiled loop beats a LAPACK call

Parts = tuple[float, float, float]
"""``(log|L_Z|^2, log|R_X|^2, r^2)``; a bound route returns None where the factor fails."""


@dataclass(frozen=True)
class Evaluation:
    """The three numbers of one factorisation that the objective needs."""

    logdet_z: float
    logdet_x: float
    r2: float


def _evaluation(logdet_z: float, logdet_x: float, r2: float) -> Evaluation:
    return Evaluation(logdet_z=logdet_z, logdet_x=logdet_x, r2=r2)


class Route:
    """One way of evaluating the factor's three numbers; stateless (the workspace holds all)."""

    name: ClassVar[str] = "route"

    def evaluate(
        self,
        ws: Workspace,
        lam1: np.ndarray,
        rest: list[np.ndarray] | tuple[np.ndarray, ...],
        conditioned: bool,
    ) -> Evaluation | None:
        """The three numbers at ``lam1`` (C-contiguous) and the rest's lambdas."""
        raise NotImplementedError

    def bind(
        self, ws: Workspace, first: np.ndarray, rest: list[np.ndarray] | tuple[np.ndarray, ...]
    ) -> Callable[[], Parts | None]:
        """A closure evaluating at the lambdas held in ``first``/``rest`` (conditioned)."""
        evaluate = ws.evaluate

        def general() -> Parts | None:
            ev = evaluate(first, rest, True)
            return None if ev is None else (ev.logdet_z, ev.logdet_x, ev.r2)

        return general

    def __repr__(self) -> str:
        """The route's name."""
        return f"<route {self.name}>"


def _contiguous_float(a: np.ndarray) -> bool:
    return bool(a.flags.c_contiguous and a.dtype == float)


class FusedOneBlock(Route):
    """One grouping factor, small X: levels, Schur complement and rest in one compiled call."""

    name = "fused one block"

    def evaluate(self, ws, lam1, rest, conditioned):
        """The three numbers at ``lam1`` and the rest's lambdas (see :meth:`Route.evaluate`)."""
        S, L11, W = ws._buffers()
        last = ws.last_conditioned if conditioned else ws.last_plain
        values = ws.values_conditioned if conditioned else ws.values
        status, logdet_z, logdet_x, r2 = kernels.evaluate_one_block(
            ws.stats.A11, lam1, ws.stats.Arr, last, ws.ptr, ws.rows, values, L11, W, S, ws.p
        )
        return None if status else _evaluation(logdet_z, logdet_x, r2)

    def bind(self, ws, first, rest):
        """A closure over the lambdas held in ``first``/``rest`` (see :meth:`Route.bind`)."""
        if rest or not _contiguous_float(first):
            return super().bind(ws, first, rest)
        kernel = kernels.evaluate_one_block
        S, L11, W = ws._buffers()
        stats = ws.stats
        args = (
            stats.A11,
            first,
            stats.Arr,
            ws.last_conditioned,
            ws.ptr,
            ws.rows,
            ws.values_conditioned,
            L11,
            W,
            S,
            ws.p,
        )

        def fused() -> Parts | None:
            status, logdet_z, logdet_x, r2 = kernel(*args)
            return None if status else (logdet_z, logdet_x, r2)

        return fused


class LevelChunks(Route):
    """The fused route with the first block's levels cut in ranges of equal work on the pool.

    The ranges are a function of the data's shape only and their sums are added in range
    order, so the numbers do not depend on the number of threads.
    """

    name = "level chunks"

    def evaluate(self, ws, lam1, rest, conditioned):
        """The three numbers at ``lam1`` and the rest's lambdas (see :meth:`Route.evaluate`)."""
        last = ws.last_conditioned if conditioned else ws.last_plain
        values = ws.values_conditioned if conditioned else ws.values
        S, L11, W = ws._buffers()
        local = ws._local
        chunks = ws.level_chunks
        if not hasattr(local, "parts"):
            local.parts = np.empty((len(chunks), ws.m, ws.m))
        parts = local.parts
        A11, ptr, rows = ws.stats.A11, ws.ptr, ws.rows
        kernel = kernels.one_block_chunk
        logdets = tiled.run_tasks(
            [
                partial(kernel, A11, lam1, ptr, rows, values, L11, W, g0, g1, parts[c])
                for c, (g0, g1) in enumerate(chunks)
            ]
        )
        status, logdet_z, logdet_x, r2 = kernels.finish_one_block(
            S, ws.stats.Arr, last, parts, np.array(logdets, dtype=float), ws.p
        )
        return None if status else _evaluation(logdet_z, logdet_x, r2)


def schur_rest(ws: Workspace, lam1, rest, conditioned: bool) -> float:
    """The first block's factor and the rest's Schur complement in ``S``; ``log|L_11|^2``.

    ``S`` (this thread's buffer) then holds the rest's matrix, the other blocks' lambdas
    applied, ready to be factored densely or gathered for CHOLMOD.
    """
    last = ws.last_conditioned if conditioned else ws.last_plain
    values = ws.values_conditioned if conditioned else ws.values
    S, L11, W = ws._buffers()
    logdet1 = kernels.first_block(ws.stats.A11, lam1, L11, W)
    if ws.by_rows:  # the same sums as schur_lower, row ranges on the tile pool
        arr, ptr, rows = ws.stats.Arr, ws.ptr, ws.rows
        rp, re_, rl = ws.row_ptr, ws.row_entry, ws.row_level
        if ws.size1 > 1:  # the entries times K_g once, then products of those
            local = ws._local
            if getattr(local, "D", None) is None:
                local.D = np.empty_like(values)
            kernels.level_factor_products(ptr, values, W, local.D)
            values = local.D
        kernel = kernels.schur_lower_rows
        tiled.run_tasks(
            [
                partial(kernel, S, arr, last, ptr, rows, values, W, rp, re_, rl, a, b)
                for a, b in ws.row_ranges
            ]
        )
    else:
        kernels.schur_lower(S, ws.stats.Arr, last, ws.ptr, ws.rows, values, W)
    qr = ws.q_rest
    if qr:
        if ws.scalar_rest:
            scale = ws._local.scale
            for off, lev, lam in zip(ws.offsets, ws.rest_levels, rest, strict=True):
                scale[off : off + lev] = lam[0, 0]
            kernels.scale_rest(S, scale, qr)
        else:
            smax = int(ws.rest_sizes.max())
            lams = np.zeros((len(rest), smax, smax))
            for k, lam in enumerate(rest):
                lams[k, : lam.shape[0], : lam.shape[1]] = lam
            kernels.transform_rest(S, ws.offsets, ws.rest_levels, ws.rest_sizes, lams, qr)
    return logdet1


class DenseRest(Route):
    """The rest's Schur complement factored densely: our loop, LAPACK or fixed tiles by ``m``."""

    name = "dense rest"

    def evaluate(self, ws, lam1, rest, conditioned):
        """The three numbers at ``lam1`` and the rest's lambdas (see :meth:`Route.evaluate`)."""
        logdet1 = schur_rest(ws, lam1, rest, conditioned)
        S = ws._buffers()[0]
        qr = ws.q_rest
        if ws.m <= SMALL_CHOLESKY:
            info = kernels.small_cholesky(S)
        elif ws.m >= tiled.TILED_MIN:  # fixed tiles: the same rounding on any machine load
            info = tiled.cholesky_lower(S)
        else:
            with blas_limit(ws.m):
                _, info = lapack.dpotrf(S.T, lower=0, clean=0, overwrite_a=1)
        if info != 0:
            return None
        logdet_z = logdet1 + kernels.log_diagonal(S, 0, qr)
        logdet_x = kernels.log_diagonal(S, qr, qr + ws.p)
        r = S[ws.m - 1, ws.m - 1]
        return _evaluation(logdet_z, logdet_x, r * r)


class SmallRest(DenseRest):
    """Scalar blocks after the first and a small rest: the dense steps in one compiled call."""

    name = "small rest"

    def bind(self, ws, first, rest):
        """A closure over the lambdas held in ``first``/``rest`` (see :meth:`Route.bind`)."""
        if not _contiguous_float(first):
            return super().bind(ws, first, rest)
        kernel = kernels.evaluate_small_rest
        S, L11, W = ws._buffers()
        scale = np.ones(ws.m)
        stats = ws.stats
        args = (
            stats.A11,
            first,
            stats.Arr,
            ws.last_conditioned,
            ws.ptr,
            ws.rows,
            ws.values_conditioned,
            L11,
            W,
            S,
            ws.p,
            scale,
            ws.q_rest,
        )
        spans = [
            (int(off), int(off + lev), lam)
            for off, lev, lam in zip(ws.offsets, ws.rest_levels, rest, strict=True)
        ]

        def small() -> Parts | None:
            for start, stop, lam in spans:
                scale[start:stop] = lam[0, 0]
            status, logdet_z, logdet_x, r2 = kernel(*args)
            return None if status else (logdet_z, logdet_x, r2)

        return small


class SparseRest(Route):
    """The rest factored by CHOLMOD (:mod:`mixedmodels.linalg.sparse_rest`).

    Conditioned evaluations of scalar terms take the rest's entries straight from per-count
    sums (:mod:`mixedmodels.linalg.grouped_schur`); others gather them from the dense Schur
    complement.
    """

    name = "sparse rest"

    def evaluate(self, ws, lam1, rest, conditioned):
        """The three numbers at ``lam1`` and the rest's lambdas (see :meth:`Route.evaluate`)."""
        if conditioned:
            grouped = ws._grouped()
            if grouped is not None:  # the compact vector straight from per-count sums
                S, L11, W = ws._buffers()
                logdet1 = kernels.first_block(ws.stats.A11, lam1, L11, W)
                return self._finish(ws, logdet1, grouped.compact(lam1[0, 0], rest))
        logdet1 = schur_rest(ws, lam1, rest, conditioned)
        return self._finish(ws, logdet1, ws.sparse.gather(ws._buffers()[0]))

    @staticmethod
    def _finish(ws, logdet1: float, compact: np.ndarray) -> Evaluation | None:
        parts = ws.sparse.evaluate(compact, ws.p)
        if parts is None:
            return None
        logdet_rest, logdet_x, r = parts
        return _evaluation(logdet1 + logdet_rest, logdet_x, r * r)


FUSED_ONE_BLOCK = FusedOneBlock()
LEVEL_CHUNKS = LevelChunks()
SMALL_REST = SmallRest()
DENSE_REST = DenseRest()
SPARSE_REST = SparseRest()


def choose_route(ws: Workspace, dense: bool = False) -> Route:
    """The route of a workspace's shape (``dense``: never the sparse one)."""
    if ws.fused:
        return FUSED_ONE_BLOCK if ws.level_chunks is None else LEVEL_CHUNKS
    if ws.sparse is not None and not dense:
        return SPARSE_REST
    if not ws.by_rows and ws.m <= SMALL_CHOLESKY and ws.scalar_rest:
        return SMALL_REST
    return DENSE_REST
