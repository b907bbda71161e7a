"""The protocol of a covariance structure: how theta of one random-effect term gives lambda.

A random-effect term with ``k`` columns has covariance ``sigma^2 lambda lambda'``, where
``lambda`` (``k x k``, lower triangular) is the Cholesky factor of the term's structured
covariance relative to ``sigma^2``. A :class:`Covariance` maps the term's slice of theta to
``lambda`` and back to what users read (standard deviations and correlations), and tells the
optimiser, the starting values, the internal rescaling and the inference code what they need:

* ``n_theta``, ``lower_bounds()``, ``upper_bounds()``, ``start(sds)``;
* ``linear_positions()``: for a structure whose lambda entries are theta entries (``us``,
  ``diag``, ``homdiag``) the positions, so that the engine fills lambda by one gather;
  ``None`` for the others, whose :meth:`Covariance.lambda_` is called;
* ``scaling``: which change of the term's columns the structure is equivariant under
  (``"affine"``: any linear map, as ``us``; ``"columns"``: scaling each column; ``"common"``:
  one factor for all columns), used by :mod:`mixedmodels.scaling`;
* ``natural(theta)`` / ``from_natural(values)``: the natural parameters (standard deviations
  relative to sigma, then correlations), one per theta entry, for varcorr, profiles and the
  bootstrap;
* ``kr_parameters`` / ``kr_covariance``: the covariance parameters Kenward-Roger
  differentiates in (variances and correlations, or the covariance entries themselves).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np

__all__ = ["Covariance", "Scaling", "robust_cholesky", "lag_means", "START_CORRELATION_LIMIT"]

Scaling = Literal["affine", "columns", "common"]


@dataclass(frozen=True)
class Covariance(ABC):
    """The covariance structure of one random-effect term with ``size`` columns."""

    size: int

    kind: ClassVar[str] = ""
    """glmmTMB's name of the structure (``"us"``, ``"ar1"``, ...)."""
    scaling: ClassVar[Scaling] = "columns"
    """The column transforms the structure is equivariant under (see the module docstring)."""
    kr_linear: ClassVar[bool] = False
    """Whether the covariance is linear in :meth:`kr_parameters` (no second derivatives)."""
    min_size: ClassVar[int] = 1
    """The fewest columns the structure is defined for."""

    # -- theta ---------------------------------------------------------------------------
    @property
    @abstractmethod
    def n_theta(self) -> int:
        """Number of theta entries of the term."""

    @abstractmethod
    def lower_bounds(self) -> np.ndarray:
        """Lower bound of every theta entry."""

    def upper_bounds(self) -> np.ndarray:
        """Upper bound of every theta entry (``inf`` unless stated)."""
        return np.full(self.n_theta, np.inf)

    @abstractmethod
    def sd_columns(self) -> np.ndarray:
        """Per theta entry: the column whose scale it carries (a standard deviation), or -1.

        For the ``"columns"`` and ``"common"`` scalings the theta of columns ``Z T`` with
        ``T = diag(t)`` is theta with each such entry multiplied by ``t`` of its column.
        """

    @abstractmethod
    def start(self, sds: np.ndarray, correlation: np.ndarray | None = None) -> np.ndarray:
        """Starting theta from starting relative standard deviations and correlations.

        ``sds``: one per column. ``correlation``: for structures with correlation parameters,
        an estimate of the columns' correlation matrix (its entries averaged as the structure
        ties them; 0 when not given).
        """

    def linear_positions(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """``(rows, cols, index)``: ``lambda[rows, cols] = theta[index]``, or None if nonlinear."""
        return None

    def lambda_(self, theta: np.ndarray) -> np.ndarray:
        """The term's lower-triangular lambda (relative covariance ``lambda lambda'``)."""
        positions = self.linear_positions()
        assert positions is not None, "a nonlinear structure defines lambda_ itself"
        rows, cols, index = positions
        lam = np.zeros((self.size, self.size))
        lam[rows, cols] = np.asarray(theta, dtype=float)[index]
        return lam

    def relative_covariance(self, theta: np.ndarray) -> np.ndarray:
        """``lambda lambda'``: the covariance relative to ``sigma^2``."""
        lam = self.lambda_(theta)
        return lam @ lam.T

    def rescale(self, theta: np.ndarray, factors: np.ndarray) -> np.ndarray:
        """Theta of columns ``Z diag(1 / factors)`` ... i.e. each scale entry times its factor."""
        out = np.array(theta, dtype=float)
        cols = self.sd_columns()
        carried = cols >= 0
        out[carried] *= np.asarray(factors, dtype=float)[cols[carried]]
        return out

    def is_singular(self, theta: np.ndarray, tolerance: float) -> bool:
        """A (nearly) singular covariance: a diagonal entry of lambda below ``tolerance``.

        For ``us`` this is lme4's rule (a bounded theta entry below the tolerance); for the
        other structures it is the same statement about the Cholesky factor: a standard
        deviation at zero or a correlation at the edge of the positive-definite set.
        """
        return bool(np.min(np.abs(np.diag(self.lambda_(theta)))) < tolerance)

    # -- names ---------------------------------------------------------------------------
    @abstractmethod
    def theta_labels(self, columns: tuple[str, ...]) -> tuple[str, ...]:
        """Names of the theta entries (without the grouping factor)."""

    # -- natural parameters ----------------------------------------------------------------
    @abstractmethod
    def natural(self, theta: np.ndarray) -> np.ndarray:
        """Standard deviations relative to sigma and correlations, one per theta entry."""

    @abstractmethod
    def from_natural(self, values: np.ndarray) -> np.ndarray | None:
        """Theta from :meth:`natural` values; None when they give no valid covariance."""

    def natural_is_sd(self) -> np.ndarray:
        """Which natural parameters are standard deviations (the others are correlations)."""
        return self.sd_columns() >= 0

    def natural_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Bounds of the natural parameters: [0, inf) for SDs, the correlations' range."""
        sd = self.natural_is_sd()
        return np.where(sd, 0.0, -1.0), np.where(sd, np.inf, 1.0)

    @abstractmethod
    def natural_names(self, columns: tuple[str, ...]) -> tuple[str, ...]:
        """lme4-style names of the natural parameters (``sd_x``, ``cor_x.y``, ``rho_ar1``)."""

    def correlation_pairs(self) -> tuple[tuple[int, int], ...]:
        """The column pairs ``(i, j)``, ``i > j``, whose correlation varcorr reports."""
        return ()

    # -- Kenward-Roger -----------------------------------------------------------------------
    @abstractmethod
    def kr_parameters(self, theta: np.ndarray, sigma2: float) -> np.ndarray:
        """The covariance parameters Kenward-Roger uses, at theta and residual variance."""

    @abstractmethod
    def kr_covariance(self, psi: np.ndarray) -> np.ndarray:
        """The term's (absolute) covariance matrix at Kenward-Roger parameters ``psi``."""


START_CORRELATION_LIMIT = 0.9
"""Starting correlations are kept within this fraction of their range (no start on a face)."""


def lag_means(correlation: np.ndarray) -> np.ndarray:
    """Mean correlation at every lag ``1 .. k - 1`` of a ``k x k`` correlation matrix."""
    k = correlation.shape[0]
    return np.array([float(np.mean(np.diagonal(correlation, -m))) for m in range(1, k)])


def robust_cholesky(a: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor of a positive semi-definite matrix (zero columns where singular).

    LAPACK's factor when ``a`` is positive definite; otherwise column by column, a pivot at
    or below ``1e-14`` times the largest diagonal entry giving a zero column (for a positive
    semi-definite matrix the entries below such a pivot vanish too).
    """
    try:
        return np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        pass
    k = a.shape[0]
    out = np.zeros_like(a, dtype=float)
    tiny = 1e-14 * max(float(np.max(np.diag(a))), 0.0)
    for j in range(k):
        pivot = a[j, j] - out[j, :j] @ out[j, :j]
        if not pivot > tiny:
            continue
        out[j, j] = np.sqrt(pivot)
        out[j + 1 :, j] = (a[j + 1 :, j] - out[j + 1 :, :j] @ out[j, :j]) / out[j, j]
    return out
