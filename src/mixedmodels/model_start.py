"""Starting values of theta: moment estimates per column, or lme4's identity lambdas.

:class:`StartingValues` is the part of :class:`~mixedmodels.model.LinearMixedModel` that picks
where BOBYQA starts (:func:`mixedmodels.linalg.start.moment_start`, and for structured terms
of indicator columns :func:`mixedmodels.linalg.start.cell_start`).
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from mixedmodels.errors import (
    DesignError,
)
from mixedmodels.model_objective import ObjectiveFunctions
from mixedmodels.options import StartMethod, choose


class StartingValues(ObjectiveFunctions):
    """Starting values of theta (mixed into LinearMixedModel)."""

    def start_theta(self, method: str = "moments") -> np.ndarray:
        """Starting theta of the internally scaled columns.

        ``"moments"`` (default): diagonal lambdas from a one-way ANOVA moment estimate per
        random-effect column (see :func:`mixedmodels.linalg.start.moment_start`), which costs no
        objective evaluation and starts BOBYQA close to the optimum; ``"identity"``: lme4's
        identity lambdas.
        """
        method = choose("start method", method, StartMethod, error=DesignError)
        start = np.zeros(self.n_theta)
        if method == "identity":
            lams = [np.eye(size) for _, _, _, size, _ in self._block_maps]
        elif method == "moments":
            from mixedmodels.linalg.start import moment_start

            unstructured = [
                bool(np.any(rows != cols)) and not any(t.structured for t in block.terms)
                for (rows, cols, *_), block in zip(self._block_maps, self.design.blocks)
            ]
            lams = moment_start(self.stats, [T for *_, T in self._block_maps], unstructured)
        for (rows, cols, index, _, _), lam, block in zip(
            self._block_maps, lams, self.design.blocks, strict=True
        ):
            start[index] = lam[rows, cols]
            for term, offset in zip(block.terms, block.column_offsets, strict=True):
                if term.structured:
                    sds = np.diag(lam)[offset : offset + term.size]
                    correlation = None
                    if method == "moments" and self._indicator_terms[term.theta_offset]:
                        from mixedmodels.linalg.start import cell_start

                        k = self.design.blocks.index(block)
                        columns = slice(offset, offset + term.size)
                        T = self._block_maps[k][4]
                        sds, correlation = cell_start(self.stats, k, columns, T)
                    start[term.theta_slice] = term.covariance.start(sds, correlation)
        return start

    @cached_property
    def _indicator_terms(self) -> dict[int, bool]:
        """Per structured term (by theta offset): whether its columns are 0/1 indicators.

        Indicators with one 1 per row: the occasions of ``ar1(0 + time | g)``.
        """
        out = {}
        for block in self.design.blocks:
            for term, offset in zip(block.terms, block.column_offsets, strict=True):
                if not term.structured or term.size < 2 or block.matrix.shape[0] == 0:
                    continue
                cols = block.matrix[:, offset : offset + term.size]
                ones = cols == 1.0
                out[term.theta_offset] = bool(
                    np.all(ones | (cols == 0.0)) and np.all(ones.sum(axis=1) == 1)
                )
        return {t.theta_offset: out.get(t.theta_offset, False) for t in self.design.terms}
