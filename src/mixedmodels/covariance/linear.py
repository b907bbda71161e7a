"""Structures whose lambda entries are theta entries: ``us``, ``diag`` and ``homdiag``.

* ``us`` (unstructured, lme4's ``(x | g)``): theta is the lower triangle of lambda, column by
  column; its diagonal is bounded below by 0 (lme4's parameterisation).
* ``diag`` (``diag(x | g)``): one standard deviation per column, no correlations; the same
  model as lme4's ``(x || g)``, which stays a set of one-column ``us`` terms.
* ``homdiag`` (``homdiag(x | g)``): one standard deviation shared by all columns,
  ``Sigma = sigma^2 s^2 I`` (statsmodels' variance components with several columns).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import numpy as np

from mixedmodels.covariance.base import Covariance, Scaling

__all__ = ["Unstructured", "Diagonal", "HomogeneousDiagonal"]


def _lower_triangle(size: int) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = [], []
    for j in range(size):
        for i in range(j, size):
            rows.append(i)
            cols.append(j)
    return np.array(rows, dtype=np.intp), np.array(cols, dtype=np.intp)


@dataclass(frozen=True)
class Unstructured(Covariance):
    """``us``: any positive semi-definite covariance, theta the lower triangle of lambda."""

    kind: ClassVar[str] = "us"
    scaling: ClassVar[Scaling] = "affine"
    kr_linear: ClassVar[bool] = True

    @property
    def n_theta(self) -> int:
        """``size (size + 1) / 2``."""
        return self.size * (self.size + 1) // 2

    @cached_property
    def _triangle(self) -> tuple[np.ndarray, np.ndarray]:
        return _lower_triangle(self.size)

    def theta_positions(self) -> tuple[np.ndarray, np.ndarray]:
        """Row and column of each theta entry in lambda, lme4's column-major order."""
        rows, cols = self._triangle
        return rows.copy(), cols.copy()

    def linear_positions(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The lower triangle, theta in order."""
        rows, cols = self.theta_positions()
        return rows, cols, np.arange(rows.size)

    def lower_bounds(self) -> np.ndarray:
        """0 for the diagonal of lambda, -inf below it."""
        rows, cols = self._triangle
        return np.where(rows == cols, 0.0, -np.inf)

    def sd_columns(self) -> np.ndarray:
        """The diagonal entries carry their column's scale (off-diagonal ones: -1)."""
        rows, cols = self._triangle
        return np.where(rows == cols, rows, -1)

    def start(self, sds: np.ndarray, correlation: np.ndarray | None = None) -> np.ndarray:
        """Diagonal lambda."""
        rows, cols = self._triangle
        return np.where(rows == cols, np.asarray(sds, dtype=float)[rows], 0.0)

    def theta_labels(self, columns: tuple[str, ...]) -> tuple[str, ...]:
        """lme4's: ``(Intercept)``, ``Days.(Intercept)``, ``Days``."""
        rows, cols = self._triangle
        return tuple(
            columns[r] if r == c else f"{columns[r]}.{columns[c]}"
            for r, c in zip(rows.tolist(), cols.tolist(), strict=True)
        )

    def natural(self, theta: np.ndarray) -> np.ndarray:
        """Standard deviations on lambda's diagonal positions, correlations below."""
        theta = np.asarray(theta, dtype=float)
        if self.size == 1:
            return np.abs(theta)
        rows, cols = self._triangle
        lam = np.zeros((self.size, self.size))
        lam[rows, cols] = theta
        cov = lam @ lam.T
        sd = np.sqrt(np.diag(cov))
        with np.errstate(invalid="ignore", divide="ignore"):
            cor = cov / np.outer(sd, sd)
        return np.where(rows == cols, sd[rows], cor[rows, cols])

    def from_natural(self, values: np.ndarray) -> np.ndarray | None:
        """Theta from SDs and correlations; None if the correlations are not positive definite."""
        values = np.asarray(values, dtype=float)
        if self.size == 1:
            return values.copy()
        if self.size == 2:
            s0, r, s1 = values
            if not -1.0 < r < 1.0:
                return None
            return np.array([s0, s1 * r, s1 * np.sqrt(1.0 - r * r)])
        rows, cols = self._triangle
        diagonal = rows == cols
        off = ~diagonal
        corr = np.eye(self.size)
        corr[rows[off], cols[off]] = values[off]
        corr[cols[off], rows[off]] = values[off]
        try:
            chol = np.linalg.cholesky(corr)
        except np.linalg.LinAlgError:
            return None
        sd = np.empty(self.size)
        sd[rows[diagonal]] = values[diagonal]
        return (sd[:, None] * chol)[rows, cols]

    def natural_names(self, columns: tuple[str, ...]) -> tuple[str, ...]:
        """``sd_<column>`` and ``cor_<row column>.<column>``."""
        rows, cols = self._triangle
        return tuple(
            f"sd_{columns[r]}" if r == c else f"cor_{columns[r]}.{columns[c]}"
            for r, c in zip(rows.tolist(), cols.tolist(), strict=True)
        )

    def correlation_pairs(self) -> tuple[tuple[int, int], ...]:
        """Every pair, column by column."""
        return tuple((i, j) for j in range(self.size) for i in range(j + 1, self.size))

    def kr_parameters(self, theta: np.ndarray, sigma2: float) -> np.ndarray:
        """The lower triangle of the covariance matrix (pbkrtest's parameters)."""
        rows, cols = self._triangle
        return sigma2 * self.relative_covariance(theta)[rows, cols]

    def kr_covariance(self, psi: np.ndarray) -> np.ndarray:
        """The symmetric matrix with lower triangle ``psi``."""
        rows, cols = self._triangle
        out = np.zeros((self.size, self.size))
        out[rows, cols] = psi
        out[cols, rows] = psi
        return out


@dataclass(frozen=True)
class Diagonal(Covariance):
    """``diag``: one standard deviation per column, uncorrelated columns."""

    kind: ClassVar[str] = "diag"
    scaling: ClassVar[Scaling] = "columns"
    kr_linear: ClassVar[bool] = True

    @property
    def n_theta(self) -> int:
        """One per column."""
        return self.size

    def linear_positions(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The diagonal."""
        index = np.arange(self.size)
        return index, index.copy(), index.copy()

    def lower_bounds(self) -> np.ndarray:
        """Standard deviations are at least 0."""
        return np.zeros(self.size)

    def sd_columns(self) -> np.ndarray:
        """Entry j is column j's standard deviation."""
        return np.arange(self.size)

    def start(self, sds: np.ndarray, correlation: np.ndarray | None = None) -> np.ndarray:
        """The columns' starting SDs."""
        return np.array(sds, dtype=float)

    def theta_labels(self, columns: tuple[str, ...]) -> tuple[str, ...]:
        """The column names (as lme4's names for the pieces of ``(x || g)``)."""
        return tuple(columns)

    def natural(self, theta: np.ndarray) -> np.ndarray:
        """The standard deviations."""
        return np.abs(np.asarray(theta, dtype=float))

    def from_natural(self, values: np.ndarray) -> np.ndarray | None:
        """The standard deviations."""
        return np.array(values, dtype=float)

    def natural_names(self, columns: tuple[str, ...]) -> tuple[str, ...]:
        """``sd_<column>``."""
        return tuple(f"sd_{c}" for c in columns)

    def kr_parameters(self, theta: np.ndarray, sigma2: float) -> np.ndarray:
        """The variances."""
        return sigma2 * np.asarray(theta, dtype=float) ** 2

    def kr_covariance(self, psi: np.ndarray) -> np.ndarray:
        """``diag(psi)``."""
        return np.diag(np.asarray(psi, dtype=float))


@dataclass(frozen=True)
class HomogeneousDiagonal(Covariance):
    """``homdiag``: one standard deviation for all columns, ``Sigma = sigma^2 s^2 I``."""

    kind: ClassVar[str] = "homdiag"
    scaling: ClassVar[Scaling] = "common"
    kr_linear: ClassVar[bool] = True

    @property
    def n_theta(self) -> int:
        """One."""
        return 1

    def linear_positions(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The diagonal, every entry theta[0]."""
        index = np.arange(self.size)
        return index, index.copy(), np.zeros(self.size, dtype=np.intp)

    def lower_bounds(self) -> np.ndarray:
        """The standard deviation is at least 0."""
        return np.zeros(1)

    def sd_columns(self) -> np.ndarray:
        """The one entry carries the (common) column scale."""
        return np.zeros(1, dtype=np.intp)

    def start(self, sds: np.ndarray, correlation: np.ndarray | None = None) -> np.ndarray:
        """The root mean square of the columns' starting SDs."""
        return np.array([float(np.sqrt(np.mean(np.square(sds))))])

    def theta_labels(self, columns: tuple[str, ...]) -> tuple[str, ...]:
        """``homdiag``."""
        return ("homdiag",)

    def natural(self, theta: np.ndarray) -> np.ndarray:
        """The standard deviation."""
        return np.abs(np.asarray(theta, dtype=float))

    def from_natural(self, values: np.ndarray) -> np.ndarray | None:
        """The standard deviation."""
        return np.array(values, dtype=float)

    def natural_names(self, columns: tuple[str, ...]) -> tuple[str, ...]:
        """``sd_homdiag``."""
        return ("sd_homdiag",)

    def kr_parameters(self, theta: np.ndarray, sigma2: float) -> np.ndarray:
        """The variance."""
        return sigma2 * np.asarray(theta, dtype=float) ** 2

    def kr_covariance(self, psi: np.ndarray) -> np.ndarray:
        """``psi I``."""
        return float(psi[0]) * np.eye(self.size)
