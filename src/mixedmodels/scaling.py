"""Internal rescaling of random-effect columns, so the optimiser sees a well-scaled theta.

A covariate with a large offset or scale (Sitka's Time, 152...258 days) makes theta badly
conditioned: a random slope's SD is tiny next to the intercept's and their correlation is
driven by the offset. The model is equivariant under ``Z_i -> Z_i T`` for an unstructured term
(``b = T b~``, so ``lambda lambda' = T lambda~ lambda~' T'``), so we optimise over lambda~ of
centred and scaled columns and map back exactly, re-triangularising by a QR decomposition.
Single-column terms (including each piece of ``(x || g)``) are only scaled.

Structured terms (:mod:`mixedmodels.covariance`) are equivariant under less: ``diag``, ``cs``
and ``toep`` under scaling each column (``T`` diagonal), ``homdiag``, ``homcs`` and ``ar1``
under one common scale (``T = t I``, ``t`` from the root mean square of all the term's
columns). There theta maps back by scaling its standard deviations, the correlations
unchanged, and ``T lambda~`` is the lambda of the mapped-back theta.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from mixedmodels.terms import ReBlock, ReTerm

__all__ = ["ThetaScaling", "make_scaling", "lower_factor", "FAR_FROM_UNIT"]

FAR_FROM_UNIT = 100.0
"""A variance ratio (of the scaled columns) this many times the unit's calls for a new unit."""


@dataclass(frozen=True, eq=False)
class ThetaScaling:
    """Per-term column transforms ``T`` (``Z~ = Z T``) and the maps between theta spaces."""

    terms: tuple[ReTerm, ...]
    transforms: tuple[np.ndarray, ...]

    @cached_property
    def _positions(self) -> tuple[tuple[np.ndarray, np.ndarray, slice, int] | None, ...]:
        """Per term: rows and columns of its theta entries, its slice of theta, its size.

        None for a structured term, whose standard deviations are scaled instead.
        """
        out: list[tuple[np.ndarray, np.ndarray, slice, int] | None] = []
        for term in self.terms:
            if term.structured:
                out.append(None)
                continue
            rows, cols = term.theta_positions()
            sl = slice(term.theta_offset, term.theta_offset + term.n_theta)
            out.append((rows, cols, sl, term.size))
        return tuple(out)

    def _map(self, theta: np.ndarray, forward: bool) -> np.ndarray:
        out = np.empty_like(theta, dtype=float)
        for term, positions, T in zip(self.terms, self._positions, self.transforms):
            if positions is None:
                factors = np.diag(T) if forward else 1.0 / np.diag(T)
                out[term.theta_slice] = term.covariance.rescale(theta[term.theta_slice], factors)
                continue
            rows, cols, sl, size = positions
            lam = np.zeros((size, size))
            lam[rows, cols] = theta[sl]
            mapped = (T @ lam) if forward else np.linalg.solve(T, lam)
            out[sl] = lower_factor(mapped)[rows, cols]
        return out

    def to_theta(self, scaled: np.ndarray) -> np.ndarray:
        """Theta of the original columns from theta of the scaled columns."""
        return self._map(np.asarray(scaled, dtype=float), forward=True)

    def to_scaled(self, theta: np.ndarray) -> np.ndarray:
        """Theta of the scaled columns from theta of the original columns."""
        return self._map(np.asarray(theta, dtype=float), forward=False)

    def relative_to(self, scaled: np.ndarray) -> ThetaScaling:
        """The scaling whose unit is the covariance ``scaled`` says, where that is far from 1.

        A term whose ``Sigma = lambda lambda'`` (``lambda`` from ``scaled``, theta of these
        scaled columns) has an eigenvalue above :data:`FAR_FROM_UNIT` gets its columns further
        transformed by ``W`` with ``W W' = Sigma + I``: its variance ratios become about 1.
        The objective's curvature per unit of theta falls as the square of a large theta (a
        ratio of 1000 leaves a millionth), so without this the optimiser works in units that
        are rounding for the objective. Other terms are left as they are (``self`` when no
        term is far from the unit).
        """
        scaled = np.asarray(scaled, dtype=float)
        transforms, changed = [], False
        for positions, T in zip(self._positions, self.transforms):
            if positions is None:  # a structured term: its scaling stays
                transforms.append(T)
                continue
            rows, cols, sl, size = positions
            if _clearly_near(scaled[sl]):
                transforms.append(T)
                continue
            cov = _covariance(scaled[sl], rows, cols, size)
            if _largest_eigenvalue(cov) > FAR_FROM_UNIT:
                transforms.append(T @ np.linalg.cholesky(cov + np.eye(size)))
                changed = True
            else:
                transforms.append(T)
        if not changed:
            return self
        return ThetaScaling(terms=self.terms, transforms=tuple(transforms))

    def far_from_unit(self, scaled: np.ndarray) -> bool:
        """Whether some term's ``lambda lambda'`` has an eigenvalue above the limit.

        The limit is :data:`FAR_FROM_UNIT` (theta ``scaled``): a standard deviation ten times
        this scaling's unit.
        """
        scaled = np.asarray(scaled, dtype=float)
        return any(
            not _clearly_near(scaled[sl])
            and _largest_eigenvalue(_covariance(scaled[sl], rows, cols, size)) > FAR_FROM_UNIT
            for rows, cols, sl, size in filter(None, self._positions)
        )


_NEAR = FAR_FROM_UNIT * (1.0 - 1e-9)
"""Below this sum of squares a term's largest eigenvalue is not above :data:`FAR_FROM_UNIT`,
whatever the rounding (the margin is a million times the rounding of the trace)."""


def _clearly_near(entries: np.ndarray) -> bool:
    """Whether ``lambda lambda'`` of these theta entries is surely within the unit's range.

    Its trace is the sum of squares of the entries and bounds its largest eigenvalue: below
    :data:`_NEAR` the matrix need not be formed (the common case, decided the same way).
    """
    return float(np.dot(entries, entries)) < _NEAR


def _covariance(entries: np.ndarray, rows, cols, size: int) -> np.ndarray:
    lam = np.zeros((size, size))
    lam[rows, cols] = entries
    return lam @ lam.T


def _largest_eigenvalue(cov: np.ndarray) -> float:
    """The largest eigenvalue of a covariance matrix (its trace when that is small already)."""
    trace = float(np.trace(cov))
    if trace <= FAR_FROM_UNIT or cov.shape[0] == 1:
        return trace
    return float(np.linalg.eigvalsh(cov)[-1])


def lower_factor(a: np.ndarray) -> np.ndarray:
    """Lower-triangular ``l`` with non-negative diagonal and ``l l' = a a'``."""
    if a.shape[0] == 1:
        return np.abs(a)
    if a.shape[0] == 2:  # one Givens rotation of a': no LAPACK call for the common 2 x 2
        (a11, a12), (a21, a22) = a.tolist()
        rho = math.hypot(a11, a12)
        if rho > 0.0:
            c, s = a11 / rho, a12 / rho
            return np.array([[rho, 0.0], [c * a21 + s * a22, abs(c * a22 - s * a21)]])
    r = np.asarray(np.linalg.qr(a.T, mode="r"))  # mode="r": the array R itself
    lower = r.T
    signs = np.where(np.diag(lower) < 0, -1.0, 1.0)
    return lower * signs[None, :]


def _term_transform(matrix: np.ndarray) -> np.ndarray:
    size = matrix.shape[1]
    if size == 1:
        rms = float(np.sqrt(np.mean(matrix[:, 0] ** 2)))
        return np.array([[1.0 / rms if rms > 0 else 1.0]])
    constant = [j for j in range(size) if np.ptp(matrix[:, j]) == 0 and matrix[0, j] != 0]
    T = np.eye(size)
    intercept = constant[0] if constant else None
    for j in range(size):
        if j == intercept:
            continue
        col = matrix[:, j]
        if intercept is not None:
            centre = float(np.mean(col))
            spread = float(np.std(col))
        else:
            centre = 0.0
            spread = float(np.sqrt(np.mean(col**2)))
        if spread <= 0:
            continue
        T[j, j] = 1.0 / spread
        if intercept is not None:
            T[intercept, j] = -centre / (spread * matrix[0, intercept])
    return T


def _column_scales(matrix: np.ndarray) -> np.ndarray:
    """``1 / rms`` of every column (1 for a column of zeros)."""
    rms = np.sqrt(np.mean(matrix**2, axis=0))
    return np.where(rms > 0, 1.0 / np.where(rms > 0, rms, 1.0), 1.0)


def _structured_transform(matrix: np.ndarray, scaling: str) -> np.ndarray:
    """Diagonal ``T`` for a structured term: per-column or one common scale."""
    if scaling == "common":
        rms = float(np.sqrt(np.mean(matrix**2)))
        return np.eye(matrix.shape[1]) * (1.0 / rms if rms > 0 else 1.0)
    return np.diag(_column_scales(matrix))


def make_scaling(blocks: tuple[ReBlock, ...], terms: tuple[ReTerm, ...]) -> ThetaScaling:
    """Column transforms for every term, from the block matrices."""
    by_term: dict[int, np.ndarray] = {}
    for block in blocks:
        for term, offset in zip(block.terms, block.column_offsets):
            cols = block.matrix[:, offset : offset + term.size]
            if term.structured:
                T = _structured_transform(cols, term.covariance.scaling)
            else:
                T = _term_transform(cols)
            by_term[term.theta_offset] = T
    return ThetaScaling(terms=terms, transforms=tuple(by_term[t.theta_offset] for t in terms))
