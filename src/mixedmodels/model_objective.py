"""The objective as the optimiser calls it: lambdas of the scaled theta, bound to the route.

:class:`ObjectiveFunctions` is the part of :class:`~mixedmodels.model.LinearMixedModel` that
turns theta of the internally scaled columns into the lambdas of the columns the statistics
sum, and binds them once to the workspace's evaluation route (the hot path); also the per-group
GLS criterion on the ray to sigma -> 0 of one-factor structured models.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cached_property, partial
from typing import TYPE_CHECKING

import numpy as np

from mixedmodels.design import Design
from mixedmodels.errors import (
    RowDataUnavailableError,
)
from mixedmodels.linalg import (
    SufficientStats,
    Workspace,
    objective_from_parts,
    tiled,
)
from mixedmodels.residual_boundary import (
    GLS_FROM,
    GroupedGLS,
    scale_mask,
)
from mixedmodels.scaling import ThetaScaling

PARALLEL_CHECK_MIN_WORK = 100_000
"""Work of one one-block evaluation (``levels * p1^3 + entries * p1^2``) from which the
convergence check's points are evaluated two at a time."""


class ObjectiveFunctions:
    """The objective closures of a linear mixed model (mixed into LinearMixedModel)."""

    design: Design
    stats: SufficientStats
    scaling: ThetaScaling

    if TYPE_CHECKING:  # defined by the model class

        @property
        def workspace(self) -> Workspace:
            """The engine built from the statistics."""

        @property
        def n_theta(self) -> int:
            """Number of covariance parameters."""

        def _working_response(self, y: np.ndarray) -> np.ndarray: ...

    @cached_property
    def grouped_gls(self) -> GroupedGLS | None:
        """The per-group criterion for the ray to sigma -> 0, or None.

        See :mod:`mixedmodels.residual_boundary`: one-factor models with a nonlinear
        structure, no weights, rows at hand and groups of at most 200 rows; None otherwise.
        """
        design = self.design
        if len(design.blocks) != 1 or not any(self._nonlinear_maps):  # cs, homcs, ar1, toep
            return None
        block = design.blocks[0]
        conditioning = self.stats.conditioning
        if conditioning is not None and conditioning.block_centres[0] is not None:
            return None  # the engine's lambdas are of centred columns; GroupedGLS reads the rows
        try:
            if design.weights is not None:
                return None
            y = self._working_response(design.y)
        except RowDataUnavailableError:  # out of core: no rows
            return None
        if np.bincount(block.codes).max() > 200:
            return None
        return GroupedGLS(block.codes, block.matrix, np.asarray(design.X), y)

    @cached_property
    def _scale_mask(self) -> np.ndarray:
        return scale_mask(self.design.terms, self.n_theta)

    def _beyond_gls_from(self, x: np.ndarray) -> bool:
        mask = self._scale_mask
        return bool(mask.any() and np.max(np.abs(x[mask])) > GLS_FROM)

    def _scaled_lambdas(self, x: np.ndarray) -> list[np.ndarray]:
        """Lambdas of the columns summed (``T lambda~(x)``) for theta ``x`` of the scaled columns.

        Not triangular, but ``lambda lambda'`` equals that of ``scaling.to_theta(x)`` (of the
        columns the statistics sum), which is all the objective depends on; so the optimiser
        needs no re-triangularisation.
        """
        out = []
        for (rows, cols, index, size, T), nonlinear in zip(
            self._block_maps, self._nonlinear_maps, strict=True
        ):
            lam = np.zeros((size, size))
            lam[rows, cols] = x[index]
            for covariance, sl, offset, k in nonlinear:
                lam[offset : offset + k, offset : offset + k] = covariance.lambda_(x[sl])
            out.append(lam if T is None else T @ lam)
        return out

    @cached_property
    def _nonlinear_maps(self) -> tuple[tuple[tuple, ...], ...]:
        """Per block: ``(covariance, theta slice, column offset, size)`` of nonlinear terms.

        Those whose lambda is not a gather of theta (``cs``, ``ar1``, ...).
        """
        return tuple(
            tuple((t.covariance, t.theta_slice, offset, t.size) for t, offset in b.nonlinear)
            for b in self.design.blocks
        )

    @cached_property
    def _block_maps(self) -> tuple:
        return self._maps_of(self.scaling)

    def _maps_of(self, scaling: ThetaScaling) -> tuple:
        """Per engine block: lambda positions, theta index, size and column transform.

        The transform takes theta of ``scaling``'s columns to the lambda of the columns the
        statistics sum (the model's, or centred ones: :mod:`mixedmodels.linalg.conditioning`).
        """
        transforms = {
            term.theta_offset: T for term, T in zip(scaling.terms, scaling.transforms, strict=True)
        }
        maps = []
        conditioning = self.stats.conditioning
        for k, block in enumerate(self.design.blocks):
            T = np.eye(block.size)
            for term, offset in zip(block.terms, block.column_offsets, strict=True):
                T[offset : offset + term.size, offset : offset + term.size] = transforms[
                    term.theta_offset
                ]
            if conditioning is not None:  # of the columns summed: C^-1 T (see conditioning)
                T = conditioning.engine_lambda(k, T)
            maps.append(
                (
                    block.lambda_rows,
                    block.lambda_cols,
                    block.theta_index,
                    block.size,
                    None if np.array_equal(T, np.eye(block.size)) else T,
                )
            )
        return tuple(maps)

    def _scaled_objective(self, x: np.ndarray, REML: bool) -> float:
        """The objective at theta of the internally scaled columns (the optimiser's view)."""
        lams = self._scaled_lambdas(x)
        ev = self.workspace.evaluate(lams[0], lams[1:], conditioned=True)
        if ev is None:
            return np.inf
        return objective_from_parts(ev.logdet_z, ev.logdet_x, ev.r2, self.stats, REML)

    def _objective_function(
        self, REML: bool, scaling: ThetaScaling | None = None
    ) -> Callable[[np.ndarray], float]:
        """:meth:`_scaled_objective` as one closure over preallocated lambdas (the hot path).

        Same arithmetic as :meth:`_scaled_objective` (so the same values to the last bit),
        without building the small matrices and looking up the workspace at every call.
        ``scaling``: theta of these columns instead of :attr:`scaling`'s.
        """
        stats = self.stats
        fills = []
        lams = []
        everything = np.arange(self.n_theta)
        same = scaling is None or scaling is self.scaling
        maps = self._block_maps if same else self._maps_of(scaling)  # type: ignore[arg-type]
        for rows, cols, index, size, T in maps:
            raw = np.zeros((size, size))
            flat = np.ravel_multi_index((rows, cols), (size, size))
            lam = raw if T is None else np.empty((size, size))
            whole = np.array_equal(index, everything)  # one block: theta in order, no gather
            fills.append((raw, raw.reshape(-1), flat, None if whole else index, T, lam))
            lams.append(lam)
        workspace = self.workspace
        parts = workspace.route.bind(workspace, lams[0], lams[1:])  # the route: by shape
        if any(self._nonlinear_maps) and same:  # structured fits: always self.scaling
            fast = _structured_objective(fills, self._nonlinear_maps, parts, stats, REML)
            gls = self.grouped_gls
            if gls is None:
                return fast

            def along_the_ray(x: np.ndarray) -> float:  # the ray to sigma -> 0: per-group GLS
                value = fast(x)  # (infinite where the engine's factor fails: no result there)
                if np.isfinite(value) and self._beyond_gls_from(x):
                    return gls(self._scaled_lambdas(x)[0], REML)
                return value

            return along_the_ray

        def objective(x: np.ndarray) -> float:
            for raw, raw_flat, flat, index, T, lam in fills:
                raw_flat[flat] = x if index is None else x[index]
                if T is not None:
                    np.matmul(T, raw, out=lam)
            done = parts()
            if done is None:
                return np.inf
            return objective_from_parts(done[0], done[1], done[2], stats, REML)

        return objective

    def _parallel_objective(
        self, REML: bool, scaling: ThetaScaling | None = None
    ) -> Callable[[list[np.ndarray]], list[float]] | None:
        """Evaluate several points of the scaled objective at once on the tile pool, or None.

        Only where one evaluation is long and runs mostly without the GIL: the sparse route
        with CHOLMOD called directly, and one grouping factor evaluated in one compiled call
        (not already cut in level chunks) of at least :data:`PARALLEL_CHECK_MIN_WORK`. Each
        pool thread uses its own closure and the workspace's per-thread buffers, so every
        value is the one a serial call gives.
        """
        workspace = self.workspace
        sparse = workspace.sparse
        gil_free_sparse = sparse is not None and sparse.releases_gil
        long_one_block = (
            workspace.fused
            and workspace.level_chunks is None
            and workspace.work >= PARALLEL_CHECK_MIN_WORK
        )
        if not (gil_free_sparse or long_one_block) or tiled.pool_size() < 2:
            return None
        local = threading.local()

        def evaluate(x: np.ndarray) -> float:
            objective = getattr(local, "objective", None)
            if objective is None:
                objective = local.objective = self._objective_function(REML, scaling)
            return objective(x)

        def parallel(points: list[np.ndarray]) -> list[float]:
            return tiled.run_tasks([partial(evaluate, x) for x in points])

        return parallel


def _structured_objective(fills, nonlinear_maps, parts, stats, REML: bool):
    """The hot-path objective of a model with structured terms.

    The gathered entries of lambda, then each structured term's own block of lambda, then
    ``T lambda``.
    """
    work = [
        (raw, raw_flat, flat, index, T, lam, nonlinear)
        for (raw, raw_flat, flat, index, T, lam), nonlinear in zip(
            fills, nonlinear_maps, strict=True
        )
    ]

    def objective(x: np.ndarray) -> float:
        for raw, raw_flat, flat, index, T, lam, nonlinear in work:
            raw_flat[flat] = x if index is None else x[index]
            for covariance, sl, offset, k in nonlinear:
                raw[offset : offset + k, offset : offset + k] = covariance.lambda_(x[sl])
            if T is not None:
                np.matmul(T, raw, out=lam)
        if not all(np.isfinite(lam).all() for *_, lam, _ in work):
            return np.inf
        done = parts()
        if done is None:
            return np.inf
        return objective_from_parts(done[0], done[1], done[2], stats, REML)

    return objective
