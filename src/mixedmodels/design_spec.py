"""The row-free part of a design, shared by the in-memory and the out-of-core fits.

A :class:`DesignSpec` is what a fit knows of its model without its rows: names, formulaic
specs, the random-effect terms and blocks, the columns kept. The in-memory
:class:`~mixedmodels.design.Design` adds the rows (y, X, weights, offset); an out-of-core
fit's design (:class:`~mixedmodels.sources.model.StreamedDesign`) adds the first pass's plan
and the sums it streamed instead. Methods that need rows read them as :class:`RowChunk`s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mixedmodels.formula import ParsedFormula, RandomTerm
from mixedmodels.terms import ReBlock, ReTerm

__all__ = ["DesignSpec", "RowChunk", "TermSpec"]


@dataclass(frozen=True, eq=False)
class TermSpec:
    """What is needed to rebuild one random-effect term's columns for new data."""

    term: RandomTerm
    model_spec: Any  # formulaic ModelSpec of the term's left side
    columns: tuple[str, ...]
    select: tuple[int, ...] | None = None  # columns of the spec's matrix kept (zerocorr)


@dataclass(frozen=True, eq=False)
class RowChunk:
    """Some rows of a fit in engine form: what a method that needs rows reads, chunk by chunk.

    Attributes
    ----------
    y
        The working response (the offset, if any, removed).
    X
        The fixed-effects model matrix (aliased columns dropped).
    blocks
        ``(codes, matrix)`` of every engine block.
    weights, offset
        Prior weights and offset of the rows, or None.
    """

    y: np.ndarray
    X: np.ndarray
    blocks: tuple[tuple[np.ndarray, np.ndarray], ...]
    weights: np.ndarray | None
    offset: np.ndarray | None


@dataclass(frozen=True, eq=False)
class DesignSpec:
    """The model's description without its rows.

    Attributes
    ----------
    formula
        The parsed formula.
    fixed_names
        Names of the kept columns of X (lme4 style: ``(Intercept)``, ``service1``).
    dropped_names
        Names of aliased columns that were dropped.
    fixed_spec
        formulaic's spec of the fixed part (every column, aliased ones included).
    kept_columns
        Indices of the kept columns among the spec's.
    terms, blocks
        Random-effect terms in theta order and the engine blocks (an out-of-core design's
        blocks hold no rows: their codes and matrices are empty).
    term_specs
        Per term of the formula (in formula order), how to rebuild its columns.
    n_dropped
        Number of rows dropped for missing values.
    """

    formula: ParsedFormula
    fixed_names: tuple[str, ...]
    dropped_names: tuple[str, ...]
    fixed_spec: Any
    kept_columns: np.ndarray
    terms: tuple[ReTerm, ...]
    blocks: tuple[ReBlock, ...]
    term_specs: tuple[TermSpec, ...]
    n_dropped: int
