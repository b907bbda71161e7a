"""Random-effect terms: grouping codes, per-level model matrices and the map theta -> Lambda.

Two views of the random effects live here:

* :class:`ReTerm` is one term as lme4 reports it (``(1 + Days | Subject)`` or each piece of an
  expanded ``(Days || Subject)``); it owns a slice of theta, which its covariance structure
  (:mod:`mixedmodels.covariance`) maps to the term's lambda: for lme4's unstructured terms the
  lower triangle of lambda, column major.
* :class:`ReBlock` is what the engine factors: all terms on the same grouping factor merged
  ("amalgamated") into one block whose lambda is block-diagonal over its terms. Entries of
  lambda that are theta entries (``us``, ``diag``, ``homdiag``) are filled by one gather; the
  terms of other structures are listed in ``nonlinear`` and fill their own diagonal block.

Nothing here depends on pandas or formulaic: the design layer hands in plain arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from mixedmodels.covariance import Covariance, Unstructured

__all__ = [
    "ReTerm",
    "ReBlock",
    "build_blocks",
    "term_order",
    "theta_lower_bounds",
    "theta_upper_bounds",
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
    covariance
        The term's covariance structure; lme4's unstructured one when not given.
    """

    group_name: str
    columns: tuple[str, ...]
    theta_offset: int
    covariance: Covariance = None  # type: ignore[assignment]  # set in __post_init__

    def __post_init__(self) -> None:
        """An unstructured covariance by default."""
        if self.covariance is None:
            object.__setattr__(self, "covariance", Unstructured(len(self.columns)))

    @property
    def size(self) -> int:
        """Number of columns (random effects per level)."""
        return len(self.columns)

    @property
    def n_theta(self) -> int:
        """Number of theta entries (for ``us``: the lower triangle of a size x size matrix)."""
        return self.covariance.n_theta

    @property
    def theta_slice(self) -> slice:
        """The term's entries of the public theta vector."""
        return slice(self.theta_offset, self.theta_offset + self.n_theta)

    @property
    def structured(self) -> bool:
        """Whether the term has a structure other than lme4's unstructured one."""
        return not isinstance(self.covariance, Unstructured)

    def theta_positions(self) -> tuple[np.ndarray, np.ndarray]:
        """Row and column (within the term) of each theta entry, lme4's column-major order.

        Only for unstructured terms, whose theta entries are entries of lambda.
        """
        if not isinstance(self.covariance, Unstructured):
            raise TypeError(f"a {self.covariance.kind} term's theta entries are not lambda's")
        return self.covariance.theta_positions()

    def lambda_(self, theta: np.ndarray) -> np.ndarray:
        """The term's lambda from the whole theta vector."""
        return self.covariance.lambda_(np.asarray(theta, dtype=float)[self.theta_slice])


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
    nonlinear: tuple[tuple[ReTerm, int], ...] = field(init=False)
    """``(term, column offset)`` of every term whose lambda is not a gather of theta."""

    def __post_init__(self) -> None:
        """The positions of every term's linear theta entries in the block's lambda."""
        rows, cols, index, nonlinear = [], [], [], []
        for term, offset in zip(self.terms, self.column_offsets):
            positions = term.covariance.linear_positions()
            if positions is None:
                nonlinear.append((term, offset))
                continue
            r, c, i = positions
            rows.append(r + offset)
            cols.append(c + offset)
            index.append(i + term.theta_offset)
        empty = [np.zeros(0, dtype=np.intp)]
        object.__setattr__(self, "lambda_rows", np.concatenate(rows or empty))
        object.__setattr__(self, "lambda_cols", np.concatenate(cols or empty))
        object.__setattr__(self, "theta_index", np.concatenate(index or empty))
        object.__setattr__(self, "nonlinear", tuple(nonlinear))

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
    def count_limited(self) -> bool:
        """Whether lme4's rule "fewer random effects than observations" applies.

        It does for unstructured and diagonal terms (otherwise the residual is confounded
        with a per-observation effect of its own variance); a ``homdiag``, ``cs``, ``homcs``,
        ``ar1`` or ``toep`` term shares a few parameters among its columns (an ``ar1`` over 12
        occasions of 72 pigs: 864 effects for 861 rows, two parameters), so its block is not
        limited by the count.
        """
        return all(t.covariance.kind in ("us", "diag") for t in self.terms)

    @property
    def columns(self) -> tuple[str, ...]:
        """Column names of the block, term after term."""
        return tuple(c for t in self.terms for c in t.columns)


def lambda_of_block(block: ReBlock, theta: np.ndarray) -> np.ndarray:
    """The block's lower-triangular relative covariance factor lambda for a theta vector."""
    lam = np.zeros((block.size, block.size))
    lam[block.lambda_rows, block.lambda_cols] = theta[block.theta_index]
    for term, offset in block.nonlinear:
        lam[offset : offset + term.size, offset : offset + term.size] = term.lambda_(theta)
    return lam


def theta_lower_bounds(terms: tuple[ReTerm, ...]) -> np.ndarray:
    """Lower bounds of theta, term by term (lme4's for ``us``: 0 on lambda's diagonal)."""
    bounds = [term.covariance.lower_bounds() for term in terms]
    return np.concatenate(bounds) if bounds else np.zeros(0)


def theta_upper_bounds(terms: tuple[ReTerm, ...]) -> np.ndarray:
    """Upper bounds of theta, term by term (``inf`` but for correlation parameters)."""
    bounds = [term.covariance.upper_bounds() for term in terms]
    return np.concatenate(bounds) if bounds else np.zeros(0)


def term_order(n_levels: Sequence[int]) -> list[int]:
    """lme4's order of the terms (given their numbers of levels): most levels first, stable."""
    return sorted(range(len(n_levels)), key=lambda i: -n_levels[i])


def build_blocks(
    term_specs: list[tuple],
) -> tuple[tuple[ReTerm, ...], tuple[ReBlock, ...]]:
    """Order the terms as lme4 does and merge those on the same factor into blocks.

    Parameters
    ----------
    term_specs
        One entry per lme4 term, in formula order:
        ``(group_name, levels, codes, matrix, column_names)``, optionally followed by the
        term's :class:`~mixedmodels.covariance.Covariance` (unstructured when absent).

    Returns
    -------
    terms, blocks
        The lme4 terms sorted by number of levels (largest first, stable), with their theta
        offsets, and the engine blocks in the same order of first appearance.
    """
    order = term_order([len(spec[1]) for spec in term_specs])
    terms: list[ReTerm] = []
    grouped: dict[str, list[int]] = {}
    offset = 0
    for i in order:
        name, _, _, matrix, columns = term_specs[i][:5]
        covariance = term_specs[i][5] if len(term_specs[i]) > 5 else Unstructured(len(columns))
        term = ReTerm(group_name=name, columns=columns, theta_offset=offset, covariance=covariance)
        offset += term.n_theta
        terms.append(term)
        grouped.setdefault(name, []).append(len(terms) - 1)
    blocks = []
    for name, members in grouped.items():
        first = order[members[0]]
        _, levels, codes = term_specs[first][:3]
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
    """Per block, which columns belong to an unstructured term of two or more columns.

    Those are the columns the engine may centre (:mod:`mixedmodels.linalg.conditioning`).
    Structured terms (``cs``, ``ar1``, ...) are never centred: their lambda is not an
    arbitrary lower triangle, so ``C^-1 lambda`` would leave the structure.
    """
    out = []
    for block in blocks:
        flags = np.zeros(block.size, dtype=bool)
        for term, offset in zip(block.terms, block.column_offsets, strict=True):
            if term.size > 1 and not term.structured:
                flags[offset : offset + term.size] = True
        out.append(flags)
    return out
