"""The model of an out-of-core fit, built from streamed sufficient statistics: no rows kept.

:class:`StreamedDesign` is the row-free :class:`~mixedmodels.design_spec.DesignSpec` with the
first pass's plan and the sums the second pass streamed (``X'X``, the response's sums);
asking it for rows (``y``, ``X``, weights, offset) raises
:class:`~mixedmodels.errors.RowDataUnavailableError`. The model is a thin subclass of the
in-memory one and its fit an ordinary :class:`~mixedmodels.results.LmerResult`: the
optimisation and every statistic that needs only A (estimates, variance components, random
effects, likelihood, summary, anova, Kenward-Roger) work as is; ``simulate`` reads the rows
from the source chunk by chunk (:meth:`StreamedLinearMixedModel.row_chunks`), and fitted
values and residuals stream back to Parquet with ``result.write_fitted(path)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np
import pandas as pd

from mixedmodels.design_spec import DesignSpec, RowChunk
from mixedmodels.errors import RowDataUnavailableError
from mixedmodels.model import LinearMixedModel
from mixedmodels.sources import as_source
from mixedmodels.sources.accumulate import chunk_arrays

if TYPE_CHECKING:
    from mixedmodels.sources.plan import StreamPlan

__all__ = ["RowPredictor", "StreamedDesign", "StreamedLinearMixedModel"]

_HOW = (
    "an out-of-core fit keeps no rows; stream fitted values and residuals to Parquet with "
    "result.write_fitted(path), or fit an in-memory pandas DataFrame"
)


def _no_rows(what: str):
    def getter(self):
        raise RowDataUnavailableError(f"{what} is not available: {_HOW}")

    getter.__doc__ = f"Not available out of core: raises RowDataUnavailableError ({what})."
    return property(getter)


@dataclass(frozen=True, eq=False)
class StreamedDesign(DesignSpec):
    """The :class:`~mixedmodels.design_spec.DesignSpec` of an out-of-core fit, without rows.

    Attributes
    ----------
    nobs
        Number of observations used.
    weights_column, offset_column
        Names of the weights and offset columns, or None.
    plan
        The first-pass plan (:class:`~mixedmodels.sources.plan.StreamPlan`) that turns chunks
        of rows into model matrices.
    fixed_gram
        ``X'X`` (unweighted) of the kept fixed-effect columns, from the streamed R factor.
    response_total
        Sum and sum of squares of the working response over the rows used.
    covariate_means
        Mean of every numeric variable of the fixed part (emmeans' reference grid), from the
        first pass.

    The others (names, specs, terms, blocks) are the spec's.
    """

    nobs: int
    weights_column: str | None
    offset_column: str | None
    plan: StreamPlan
    fixed_gram: np.ndarray
    response_total: np.ndarray
    covariate_means: Mapping[str, float]
    has_rows = False

    y = _no_rows("the response vector")
    X = _no_rows("the fixed-effects model matrix")
    weights = _no_rows("the per-row weights")
    offset = _no_rows("the per-row offset")
    row_index = _no_rows("the row index")

    @property
    def n(self) -> int:
        """Number of observations used."""
        return self.nobs

    @property
    def weighted(self) -> bool:
        """Whether the fit has prior weights."""
        return self.weights_column is not None

    def fixed_crossproduct(self) -> np.ndarray:
        """``X'X`` of the kept columns, unweighted (from the streamed R factor)."""
        return self.fixed_gram

    def response_sums(self) -> np.ndarray:
        """Sum and sum of squares of the working response (the offset removed)."""
        return self.response_total


class StreamedLinearMixedModel(LinearMixedModel):
    """A :class:`~mixedmodels.model.LinearMixedModel` set up from streamed statistics.

    Built by :meth:`mixedmodels.sources.Source.model`; holds the sufficient statistics, the
    row-free design and a reference to the source, from which :meth:`row_chunks` and
    :meth:`write_fitted` read the rows.
    """

    def __init__(self, design: StreamedDesign, stats, scaling, source, control=None) -> None:
        super().__init__(
            design.formula,
            None,
            control=control,  # the model checks (for with_formula: update, ranova)
            _design=design,  # type: ignore[arg-type]  # a Design without its rows
            _stats=stats,
            _scaling=scaling,
        )
        self.source = source

    def row_chunks(self) -> Iterator[RowChunk]:
        """The rows of the fit in engine form, read from the source chunk by chunk, in order."""
        design = cast(StreamedDesign, self.design)
        plan, keep = design.plan, design.kept_columns
        for frame in self.source.frames(plan):
            arrays = chunk_arrays(plan, frame)
            yield RowChunk(
                y=arrays.y,
                X=np.asarray(arrays.X[:, keep], order="F"),
                blocks=arrays.blocks,
                weights=arrays.weights,
                offset=arrays.offset,
            )

    def with_response(self, y) -> LinearMixedModel:
        """Not available out of core: a new response needs the rows."""
        raise RowDataUnavailableError(f"refitting to a new response needs the rows: {_HOW}")

    def with_formula(
        self, formula: str, data, *, weights=None, offset=None, contrasts=None
    ) -> LinearMixedModel:
        """A model of another formula on ``data``: out of core for a source, else in memory."""
        checks = getattr(self, "_checks", None)
        source = as_source(data) if not isinstance(data, pd.DataFrame) else None
        if source is None:
            return LinearMixedModel(
                formula, data, weights=weights, offset=offset, contrasts=contrasts, control=checks
            )
        return source.model(
            formula, weights=weights, offset=offset, contrasts=contrasts, control=checks
        )

    def write_fitted(self, result, path, columns=None) -> str:
        """Stream fitted values and residuals of every used row of ``result`` to Parquet.

        See :meth:`mixedmodels.results.LmerResult.write_fitted`; the source writes.
        """
        return self.source.write_fitted(result, path, columns)

    def row_predictor(self, result) -> RowPredictor:
        """A small picklable object computing ``result``'s fitted values of chunks of rows."""
        design = cast(StreamedDesign, self.design)
        return RowPredictor(
            plan=design.plan,
            kept_columns=design.kept_columns,
            beta=np.asarray(result.solution.beta),
            effects=tuple(result._block_effects),
        )

    def __repr__(self) -> str:
        """Formula and number of rows."""
        return f"StreamedLinearMixedModel({self.formula!r}, nobs={self.design.n})"


@dataclass(frozen=True, eq=False)
class RowPredictor:
    """Fitted values and residuals of chunks of rows, from the plan and the estimates."""

    plan: StreamPlan
    kept_columns: np.ndarray
    beta: np.ndarray
    effects: tuple[np.ndarray, ...]

    def values(self, chunk: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Fitted values and residuals of a chunk of complete rows."""
        arrays = chunk_arrays(self.plan, chunk)
        fitted = arrays.X[:, self.kept_columns] @ self.beta
        for (codes, matrix), b in zip(arrays.blocks, self.effects, strict=True):
            fitted = fitted + np.einsum("nk,nk->n", matrix, b[codes])
        y = arrays.y
        if arrays.offset is not None:
            fitted = fitted + arrays.offset
            y = y + arrays.offset
        return fitted, y - fitted

    def frame(self, chunk: pd.DataFrame, columns) -> pd.DataFrame:
        """``columns`` of ``chunk`` with ``fitted`` and ``residual`` appended."""
        fitted, resid = self.values(chunk)
        out = chunk[list(columns)].reset_index(drop=True)
        out = out.assign(fitted=fitted, residual=resid)
        return out
