"""Second pass of an out-of-core fit: the blocks of A = [Z X y]'[Z X y], summed chunk by chunk.

Every block of the sufficient statistics is a sum over rows, so a chunk of rows contributes a
:class:`PartialStats` and partials add up (:meth:`PartialStats.merge`, for dask partitions).
:meth:`PartialStats.finish` selects the non-aliased fixed-effect columns and assembles a
:class:`~mixedmodels.linalg.SufficientStats` through its public fields, laid out exactly as
:func:`~mixedmodels.linalg.compute_statistics` lays out the in-memory one.

Besides A the pass keeps, per random-effect column, the moments the optimiser's internal
column scaling needs, and the R factor of the unweighted fixed-effects matrix (a streamed QR),
on which aliased columns are found exactly as the in-memory path finds them on X.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

from mixedmodels.aliasing import drop_aliased
from mixedmodels.errors import DesignError
from mixedmodels.linalg import SufficientStats
from mixedmodels.linalg.conditioning import Conditioning, choose_conditioning
from mixedmodels.linalg.statistics import (
    BlockShape,
    assemble_statistics,
    level_sums,
    pair_block,
    per_level_crossproducts,
)
from mixedmodels.rfunctions import R_CONTEXT
from mixedmodels.scaling import ColumnSummary, ThetaScaling, scaling_from_summaries
from mixedmodels.terms import centred_columns

if TYPE_CHECKING:
    from mixedmodels.sources.plan import StreamPlan

__all__ = ["ChunkArrays", "PartialStats", "chunk_arrays", "estimate_bytes", "sample_conditioning"]


@dataclass(frozen=True, eq=False)
class ChunkArrays:
    """A chunk of complete rows in engine form (the working response has the offset removed)."""

    y: np.ndarray
    X: np.ndarray
    blocks: tuple[tuple[np.ndarray, np.ndarray], ...]  # (codes, matrix) per engine block
    weights: np.ndarray | None
    offset: np.ndarray | None


def chunk_arrays(plan: StreamPlan, frame: pd.DataFrame) -> ChunkArrays:
    """Model matrices, codes, weights and offset of a chunk of complete rows."""
    frame = plan.prepare(frame)
    y = np.asarray(plan.response_spec.get_model_matrix(frame, context=R_CONTEXT), dtype=float)
    if y.ndim == 2:
        if y.shape[1] != 1:
            raise DesignError(f"the response {plan.formula.response!r} must be one numeric column")
        y = y[:, 0]
    if not np.isfinite(y).all():
        raise DesignError(f"the response {plan.formula.response!r} has non-finite values")
    X = np.asarray(plan.fixed_spec.get_model_matrix(frame, context=R_CONTEXT), dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    term_matrices: dict[str, np.ndarray] = {}
    matrices = []
    for spec in plan.term_specs:
        text = spec.term.lhs
        if text not in term_matrices:
            term_matrices[text] = np.asarray(
                spec.model_spec.get_model_matrix(frame, context=R_CONTEXT), dtype=float
            )
        matrices.append(term_matrices[text])
    blocks = []
    for block, members in zip(plan.blocks, plan.block_members, strict=True):
        codes = plan.codings[block.group_name].codes(frame)
        parts = [matrices[i] for i in members]
        blocks.append((codes, parts[0] if len(parts) == 1 else np.column_stack(parts)))
    w = off = None
    if plan.weights is not None:
        w = frame[plan.weights].to_numpy(dtype=float)
    if plan.offset is not None:
        off = frame[plan.offset].to_numpy(dtype=float)
        y = y - off
    return ChunkArrays(y=y, X=X, blocks=tuple(blocks), weights=w, offset=off)


def sample_conditioning(plan: StreamPlan, sample: pd.DataFrame) -> Conditioning:
    """The in-memory centring rule applied to the first pass's sample of complete rows."""
    arrays = chunk_arrays(plan, sample)
    blocks = [(codes, matrix, 0) for codes, matrix in arrays.blocks]
    return choose_conditioning(
        blocks, arrays.X, arrays.y, arrays.weights, centred_columns(plan.blocks)
    )


def conditioned(chunk: ChunkArrays, conditioning: Conditioning | None) -> ChunkArrays:
    """The chunk's columns as the engine sums them (centred, the response shifted)."""
    if conditioning is None:
        return chunk
    X = conditioning.fixed_columns(chunk.X)
    blocks = tuple(
        (codes, conditioning.block_columns(k, matrix))
        for k, (codes, matrix) in enumerate(chunk.blocks)
    )
    return ChunkArrays(
        y=conditioning.response(X, chunk.y),
        X=X,
        blocks=blocks,
        weights=chunk.weights,
        offset=chunk.offset,
    )


class _SparseSum:
    """A sparse matrix summed from COO triplets, consolidated when the pending part grows."""

    def __init__(self, shape: tuple[int, int]) -> None:
        self.shape = shape
        self.total = sp.csr_matrix(shape)
        self.pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.pending_size = 0

    def add(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray) -> None:
        self.pending.append((rows, cols, vals))
        self.pending_size += rows.size
        if self.pending_size > max(1_000_000, 2 * self.total.nnz):
            self.consolidate()

    def consolidate(self) -> sp.csr_matrix:
        if self.pending:
            rows, cols, vals = (np.concatenate(a) for a in zip(*self.pending, strict=True))
            self.total = self.total + sp.csr_matrix((vals, (rows, cols)), shape=self.shape)
            self.pending, self.pending_size = [], 0
        return self.total

    def merge(self, other: _SparseSum) -> None:
        self.total = self.consolidate() + other.consolidate()


class PartialStats:
    """Sums over some rows of every block of A, plus moments and the R factor of X."""

    def __init__(self, plan: StreamPlan) -> None:
        shapes = [(b.n_levels, b.size) for b in plan.blocks]
        k = plan.p_full + 1
        self.shapes = shapes
        self.p_full = plan.p_full
        self.n = 0
        self.sum_log_weights = 0.0
        l1, p1 = shapes[0]
        self.A11 = np.zeros((l1, p1, p1))
        self.xy_z1 = np.zeros((k, l1 * p1))  # [X y]' Z1
        self.diag = [np.zeros((lk, pk, pk)) for lk, pk in shapes[1:]]  # Zk'Zk
        self.z_xy = [np.zeros((k, lk * pk)) for lk, pk in shapes[1:]]  # [X y]' Zk
        self.xy_xy = np.zeros((k, k))
        # sparse cross blocks: (k, 0) = Zk'Z1 and (k, j) = Zk'Zj for rest blocks 1 <= j < k
        self.cross = {
            (i, j): _SparseSum((shapes[i][0] * shapes[i][1], shapes[j][0] * shapes[j][1]))
            for i in range(1, len(shapes))
            for j in range(i)
        }
        self.R = np.zeros((0, plan.p_full))
        # per block column: count, mean, M2 (sum of squared deviations), min, max (unweighted)
        self.moments = [np.zeros((5, pk)) for _, pk in shapes]
        for m in self.moments:
            m[3], m[4] = np.inf, -np.inf
        self.conditioning = plan.conditioning
        self.response_sums = np.zeros(2)  # of the working response (model's, not centred)

    # -- adding rows ----------------------------------------------------------------------
    def add(self, chunk: ChunkArrays) -> PartialStats:
        """Add the sums of one chunk of rows."""
        n = chunk.y.shape[0]
        if n == 0:
            return self
        self._add_moments(chunk)  # of the model's columns, as the aliasing below
        self.R = np.asarray(np.linalg.qr(np.vstack([self.R, chunk.X]), mode="r"))
        self.response_sums += (np.sum(chunk.y), chunk.y @ chunk.y)
        chunk = conditioned(chunk, self.conditioning)
        XY = np.column_stack([chunk.X, chunk.y])
        blocks = [(c, m, lk) for (c, m), (lk, _) in zip(chunk.blocks, self.shapes, strict=True)]
        if chunk.weights is not None:
            root = np.sqrt(chunk.weights)
            XY = XY * root[:, None]
            blocks = [(c, m * root[:, None], lk) for c, m, lk in blocks]
            self.sum_log_weights += float(np.sum(np.log(chunk.weights)))
        self.n += n
        columns = list(XY.T)
        c1, z1, l1 = blocks[0]
        self.A11 += per_level_crossproducts(c1, z1, l1)
        self.xy_z1 += level_sums(c1, z1, columns, l1)
        self.xy_xy += XY.T @ XY
        for i in range(1, len(blocks)):
            ci, zi, li = blocks[i]
            self.diag[i - 1] += per_level_crossproducts(ci, zi, li)
            self.z_xy[i - 1] += level_sums(ci, zi, columns, li)
            for j in range(i):
                block = pair_block(blocks[i], blocks[j])
                self.cross[i, j].add(block.row, block.col, block.data)
        return self

    def _add_moments(self, chunk: ChunkArrays) -> None:
        for m, (_, z) in zip(self.moments, chunk.blocks, strict=True):
            nb = z.shape[0]
            mean_b = z.mean(axis=0)
            m2_b = ((z - mean_b) ** 2).sum(axis=0)
            na = m[0]
            total = na + nb
            delta = mean_b - m[1]
            m[1] = m[1] + delta * nb / total
            m[2] = m[2] + m2_b + delta**2 * na * nb / total
            m[0] = total
            m[3] = np.minimum(m[3], z.min(axis=0))
            m[4] = np.maximum(m[4], z.max(axis=0))

    def merge(self, other: PartialStats) -> PartialStats:
        """Add another partial's sums (of other rows) to this one."""
        if other.n == 0:
            return self
        if self.n == 0:
            return other
        self.n += other.n
        self.sum_log_weights += other.sum_log_weights
        self.response_sums += other.response_sums
        self.A11 += other.A11
        self.xy_z1 += other.xy_z1
        self.xy_xy += other.xy_xy
        for mine, theirs in zip(self.diag, other.diag, strict=True):
            mine += theirs
        for cross, added in zip(self.z_xy, other.z_xy, strict=True):
            cross += added
        for key, value in self.cross.items():
            value.merge(other.cross[key])
        self.R = np.asarray(np.linalg.qr(np.vstack([self.R, other.R]), mode="r"))
        for m, o in zip(self.moments, other.moments, strict=True):
            total = m[0] + o[0]
            delta = o[1] - m[1]
            m[2] = m[2] + o[2] + delta**2 * m[0] * o[0] / total
            m[1] = m[1] + delta * o[0] / total
            m[0] = total
            m[3] = np.minimum(m[3], o[3])
            m[4] = np.maximum(m[4], o[4])
        return self

    # -- the result -----------------------------------------------------------------------
    def kept_columns(self, names: tuple[str, ...]) -> np.ndarray:
        """Indices of the non-aliased fixed-effect columns (same rule as the in-memory path)."""
        return drop_aliased(self.R, names)

    def fixed_crossproduct(self, keep: np.ndarray) -> np.ndarray:
        """``X'X`` (unweighted) of the fixed-effect columns ``keep``, from the R factor."""
        R = self.R[:, keep]
        return R.T @ R

    def finish(self, keep: np.ndarray) -> SufficientStats:
        """Assemble the sufficient statistics with the fixed-effect columns ``keep``."""
        rows = np.concatenate([keep, [self.p_full]])  # kept X columns and y
        return assemble_statistics(
            n=self.n,
            sum_log_weights=self.sum_log_weights,
            shapes=tuple(BlockShape(lk, pk) for lk, pk in self.shapes),
            A11=self.A11,
            xy_z1=self.xy_z1[rows],
            xy_xy=self.xy_xy[np.ix_(rows, rows)],
            rest_sums=lambda k: (self.diag[k - 1], self.z_xy[k - 1][rows]),
            pair=lambda k, j: self.cross[k, j].consolidate(),
            conditioning=None if self.conditioning is None else self.conditioning.kept(keep),
        )

    def scaling(self, plan: StreamPlan) -> ThetaScaling:
        """The optimiser's column scaling, from the moments of the random-effect columns.

        :func:`mixedmodels.scaling.make_scaling` reads a column only through its mean,
        standard deviation, root mean square and whether it is constant: the summary
        (:class:`~mixedmodels.scaling.ColumnSummary`) of every term's columns is made of the
        moments streamed here.
        """
        summaries = {}
        for block, m in zip(plan.blocks, self.moments, strict=True):
            for term, offset in zip(block.terms, block.column_offsets, strict=True):
                count, mean, m2, low, high = m[:, offset : offset + term.size]
                summaries[term.theta_offset] = ColumnSummary.from_moments(
                    mean, m2, float(count[0]), low, high
                )
        return scaling_from_summaries([summaries[t.theta_offset] for t in plan.terms], plan.terms)


def estimate_bytes(plan: StreamPlan) -> int:
    """Memory the accumulated blocks and the factorisation need, in bytes (an upper estimate)."""
    l1, p1 = plan.blocks[0].n_levels, plan.blocks[0].size
    q_rest = sum(b.n_random_effects for b in plan.blocks[1:])
    m = q_rest + plan.p_full + 1
    dense_rest = 3 * m * m  # Arr, the factor of the rest, a work copy
    per_level = 3 * l1 * p1 * p1  # A11, L11 and a work copy
    ar1 = 3 * (plan.p_full + 1) * l1 * p1 + (3 * q_rest * l1 * p1 if q_rest else 0)
    moments = 5 * sum(b.size for b in plan.blocks)
    return 8 * (dense_rest + per_level + min(ar1, 3 * m * l1 * p1) + moments)
