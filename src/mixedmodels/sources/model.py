"""Models and results built from streamed sufficient statistics: no rows are kept.

:class:`StreamedDesign` carries everything of :class:`~mixedmodels.design.Design` that does not
depend on rows (names, specs, levels, counts); asking it for rows (``y``, ``X``, weights,
offset) raises :class:`~mixedmodels.errors.RowDataUnavailableError`. The model and result
classes are thin subclasses of the in-memory ones: the optimisation and every statistic that
needs only A (estimates, variance components, random effects, likelihood, summary) work as is;
fitted values and residuals stream back to Parquet with :meth:`StreamedLmerResult.write_fitted`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from mixedmodels.design import RowChunk
from mixedmodels.errors import RowDataUnavailableError
from mixedmodels.formula import ParsedFormula
from mixedmodels.model import LinearMixedModel
from mixedmodels.results import LmerResult
from mixedmodels.sources import as_source
from mixedmodels.sources.accumulate import chunk_arrays
from mixedmodels.terms import ReBlock, ReTerm

if TYPE_CHECKING:
    from mixedmodels.sources.plan import StreamPlan

__all__ = ["RowPredictor", "StreamedDesign", "StreamedLinearMixedModel", "StreamedLmerResult"]

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
class StreamedDesign:
    """The row-free part of a :class:`~mixedmodels.design.Design`.

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

    The other attributes are those of :class:`~mixedmodels.design.Design`.
    """

    formula: ParsedFormula
    fixed_names: tuple[str, ...]
    dropped_names: tuple[str, ...]
    fixed_spec: Any  # formulaic ModelSpec
    kept_columns: np.ndarray
    terms: tuple[ReTerm, ...]
    blocks: tuple[ReBlock, ...]
    term_specs: tuple
    n_dropped: int
    nobs: int
    weights_column: str | None
    offset_column: str | None
    plan: StreamPlan
    fixed_gram: np.ndarray
    response_total: np.ndarray
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
    row-free design and a reference to the source (for :meth:`StreamedLmerResult.write_fitted`).
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

    def _result(self, *args, **kwargs):
        result = super()._result(*args, **kwargs)
        values = {f.name: getattr(result, f.name) for f in fields(LmerResult)}
        return StreamedLmerResult(**values)

    def __repr__(self) -> str:
        """Formula and number of rows."""
        return f"StreamedLinearMixedModel({self.formula!r}, nobs={self.design.n})"


@dataclass(frozen=True, eq=False)
class StreamedLmerResult(LmerResult):
    """An :class:`~mixedmodels.results.LmerResult` of an out-of-core fit (no rows kept)."""

    fitted = _no_rows("fitted")
    residuals = _no_rows("residuals")

    def write_fitted(self, path, columns=None) -> str:
        """Stream fitted values and residuals of every used row to Parquet.

        Parameters
        ----------
        path
            Output: a Parquet file for a DuckDB source, a directory of Parquet files (one per
            partition) for a dask source.
        columns
            Source columns written beside ``fitted`` and ``residual`` (e.g. an id column);
            default all columns the model uses.

        Returns
        -------
        str
            The path written.
        """
        model = cast(StreamedLinearMixedModel, self.model)
        return model.source.write_fitted(self, path, columns)

    def row_predictor(self) -> RowPredictor:
        """A small picklable object computing fitted values of chunks of rows."""
        return RowPredictor(
            plan=self.design.plan,
            kept_columns=self.design.kept_columns,
            beta=np.asarray(self.solution.beta),
            effects=tuple(self._block_effects),
        )


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
