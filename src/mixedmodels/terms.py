"""Random-effect terms: grouping codes, per-level model matrices and the map theta -> Lambda.

Two views of the random effects live here:

* :class:`ReTerm` is one term as lme4 reports it (``(1 + Days | Subject)`` or each piece of an
  expanded ``(Days || Subject)``); it owns a slice of theta (its lower triangle, column major).
* :class:`ReBlock` is what the engine factors: all terms on the same grouping factor merged
  ("amalgamated") into one block whose lambda is block-diagonal over its terms.

Nothing here depends on pandas or formulaic: the design layer hands in plain arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "ReTerm",
    "ReBlock",
    "build_blocks",
    "theta_lower_bounds",
    "lambda_of_block",
    "centred_columns",
]


@dataclass(frozen=True)
class ReTerm:
    """One random-effects term as lme4 reports it.

    Attributes
    ----------
    group_name
        Grouping factor name as lme4 prints it (``"Subject"``, ``"dept:service"``).
    columns
        Names of the term's model-matrix columns (``"(Intercept)"``, ``"Days"``).
    theta_offset
        Index of this term's first theta entry in the public theta vector.
    """

    group_name: str
    columns: tuple[str, ...]
    theta_offset: int

    @property
    def size(self) -> int:
        """Number of columns (random effects per level)."""
        return len(self.columns)

    @property
    def n_theta(self) -> int:
        """Number of theta entries (lower triangle of a size x size matrix)."""
        k = self.size
        return k * (k + 1) // 2

    def theta_positions(self) -> tuple[np.ndarray, np.ndarray]:
        """Row and column (within the term) of each theta entry, lme4's column-major order."""
        rows, cols = [], []
        for j in range(self.size):
            for i in range(j, self.size):
                rows.append(i)
                cols.append(j)
        return np.array(rows, dtype=np.intp), np.array(cols, dtype=np.intp)


@dataclass(frozen=True, eq=False)
class ReBlock:
    """All random-effect terms on one grouping factor, as the engine sees them.

    Attributes
    ----------
    group_name
        Grouping factor name.
    levels
        Level labels, in the order of the codes.
    codes
        Level index of every observation, shape ``(n,)``.
    matrix
        Per-observation model matrix of the block, shape ``(n, p)``; the columns of its
        terms side by side.
    terms
        The lme4 terms merged into this block, in theta order.
    column_offsets
        Column offset of each term inside the block.
    """

    group_name: str
    levels: tuple[str, ...]
    codes: np.ndarray
    matrix: np.ndarray
    terms: tuple[ReTerm, ...]
    column_offsets: tuple[int, ...]
    lambda_rows: np.ndarray = field(init=False)
    lambda_cols: np.ndarray = field(init=False)
    theta_index: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        rows, cols, index = [], [], []
        for term, offset in zip(self.terms, self.column_offsets):
            r, c = term.theta_positions()
            rows.append(r + offset)
            cols.append(c + offset)
            index.append(np.arange(term.n_theta) + term.theta_offset)
        object.__setattr__(self, "lambda_rows", np.concatenate(rows))
        object.__setattr__(self, "lambda_cols", np.concatenate(cols))
        object.__setattr__(self, "theta_index", np.concatenate(index))

    @property
    def n_levels(self) -> int:
        """Number of levels of the grouping factor."""
        return len(self.levels)

    @property
    def size(self) -> int:
        """Random effects per level (columns of the block)."""
        return self.matrix.shape[1]

    @property
    def n_random_effects(self) -> int:
        """Total number of random effects of the block (levels x size)."""
        return self.n_levels * self.size

    @property
    def columns(self) -> tuple[str, ...]:
        """Column names of the block, term after term."""
        return tuple(c for t in self.terms for c in t.columns)


def lambda_of_block(block: ReBlock, theta: np.ndarray) -> np.ndarray:
    """The block's lower-triangular relative covariance factor lambda for a theta vector."""
    lam = np.zeros((block.size, block.size))
    lam[block.lambda_rows, block.lambda_cols] = theta[block.theta_index]
    return lam


def theta_lower_bounds(terms: tuple[ReTerm, ...]) -> np.ndarray:
    """lme4's bounds: 0 for diagonal entries of each lambda, -inf for the others."""
    bounds = []
    for term in terms:
        rows, cols = term.theta_positions()
        bounds.append(np.where(rows == cols, 0.0, -np.inf))
    return np.concatenate(bounds) if bounds else np.zeros(0)


def build_blocks(
    term_specs: list[tuple[str, tuple[str, ...], np.ndarray, np.ndarray, tuple[str, ...]]],
) -> tuple[tuple[ReTerm, ...], tuple[ReBlock, ...]]:
    """Order the terms as lme4 does and merge those on the same factor into blocks.

    Parameters
    ----------
    term_specs
        One entry per lme4 term, in formula order:
        ``(group_name, levels, codes, matrix, column_names)``.

    Returns
    -------
    terms, blocks
        The lme4 terms sorted by number of levels (largest first, stable), with their theta
        offsets, and the engine blocks in the same order of first appearance.
    """
    order = sorted(range(len(term_specs)), key=lambda i: -len(term_specs[i][1]))
    terms: list[ReTerm] = []
    grouped: dict[str, list[int]] = {}
    offset = 0
    for i in order:
        name, _, _, matrix, columns = term_specs[i]
        term = ReTerm(group_name=name, columns=columns, theta_offset=offset)
        offset += term.n_theta
        terms.append(term)
        grouped.setdefault(name, []).append(len(terms) - 1)
    blocks = []
    for name, members in grouped.items():
        first = order[members[0]]
        _, levels, codes, _, _ = term_specs[first]
        matrices = [term_specs[order[m]][3] for m in members]
        offsets = np.cumsum([0] + [m.shape[1] for m in matrices])[:-1]
        blocks.append(
            ReBlock(
                group_name=name,
                levels=levels,
                codes=codes,
                matrix=matrices[0] if len(matrices) == 1 else np.column_stack(matrices),
                terms=tuple(terms[m] for m in members),
                column_offsets=tuple(int(o) for o in offsets),
            )
        )
    blocks.sort(key=lambda b: -b.n_levels)
    return tuple(terms), tuple(blocks)


def centred_columns(blocks) -> list[np.ndarray]:
    """Per block, which columns belong to a term of two or more columns (an unstructured
    covariance): the columns the engine may centre (:mod:`mixedmodels.linalg.conditioning`)."""
    out = []
    for block in blocks:
        flags = np.zeros(block.size, dtype=bool)
        for term, offset in zip(block.terms, block.column_offsets, strict=True):
            if term.size > 1:
                flags[offset : offset + term.size] = True
        out.append(flags)
    return out
