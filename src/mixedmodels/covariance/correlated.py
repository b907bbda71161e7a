"""Structures with correlation parameters: ``cs``, ``homcs``, ``ar1`` and ``toep``.

Theta of these terms is their natural parameterisation: standard deviations relative to
sigma, then correlation parameters in a closed box, so that every point of the box is a
positive semi-definite covariance and its faces are exactly the singular ones:

* ``cs`` (heterogeneous compound symmetry, ``k + 1``): ``s_1..s_k, rho``;
  ``Sigma_ij = sigma^2 s_i s_j rho`` off the diagonal, ``rho`` in ``[-1 / (k - 1), 1]``.
* ``homcs`` (``2``): ``s, rho``: ``cs`` with one standard deviation.
* ``ar1`` (``2``): ``s, rho``: ``Sigma_ij = sigma^2 s^2 rho^|i - j|``, ``rho`` in ``[-1, 1]``,
  the columns being consecutive, unit-spaced occasions.
* ``toep`` (heterogeneous Toeplitz, ``2k - 1``): ``s_1..s_k`` and the partial
  autocorrelations ``phi_1..phi_{k-1}`` in ``[-1, 1]``; the lag correlations ``r_1..r_{k-1}``
  (``Sigma_ij = sigma^2 s_i s_j r_|i - j|``) follow by the Durbin-Levinson recursion, which
  maps the box one to one onto the positive-definite Toeplitz correlation matrices (glmmTMB
  parameterises the lag correlations directly, leaving some points non-positive-definite).

Lambda is the Cholesky factor of the structured covariance: in closed form for ``cs`` and
``ar1``, by a Cholesky of the correlation matrix for ``toep``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.linalg import toeplitz

from mixedmodels.covariance import kernels
from mixedmodels.covariance.base import (
    START_CORRELATION_LIMIT,
    Covariance,
    Scaling,
    lag_means,
    robust_cholesky,
)

__all__ = [
    "CompoundSymmetry",
    "HomogeneousCompoundSymmetry",
    "AutoRegressive1",
    "Toeplitz",
    "pacf_to_acf",
    "acf_to_pacf",
]

_EDGE = 1e-12  # correlation parameters this far outside their box are taken as on it


def _in_box(value: float, low: float, high: float) -> float | None:
    """``value`` clipped to ``[low, high]`` when within :data:`_EDGE` of it, else None."""
    if not low - _EDGE <= value <= high + _EDGE:
        return None
    return min(max(value, low), high)


def cs_factor(rho: float, size: int) -> np.ndarray:
    """Cholesky factor of the ``size x size`` correlation matrix with every off-diagonal rho.

    Eliminating j columns leaves a compound-symmetric Schur complement with off-diagonal
    ``b_j = rho c / (c + j rho)`` and diagonal ``c + b_j`` (``c = 1 - rho``), so column j of
    the factor is ``sqrt(c + b_j)`` on the diagonal and ``b_j / sqrt(c + b_j)`` below.
    """
    c = 1.0 - rho
    out = np.zeros((size, size))
    if c <= 0.0:  # rho = 1: every column the first
        out[:, 0] = 1.0
        return out
    j = np.arange(size)
    b = rho * c / (c + j * rho)
    d = np.sqrt(np.maximum(c + b, 0.0))
    below = np.divide(b, d, out=np.zeros(size), where=d > 0.0)
    out[:] = np.tril(np.broadcast_to(below, (size, size)), -1)
    out[j, j] = d
    return out


@dataclass(frozen=True)
class CompoundSymmetry(Covariance):
    """``cs``: a standard deviation per column and one correlation for every pair."""

    kind: ClassVar[str] = "cs"
    scaling: ClassVar[Scaling] = "columns"
    min_size: ClassVar[int] = 2

    @property
    def _n_sd(self) -> int:
        return self.size

    @property
    def n_theta(self) -> int:
        """The standard deviations and rho."""
        return self._n_sd + 1

    @property
    def rho_bounds(self) -> tuple[float, float]:
        """``[-1 / (size - 1), 1]``: the positive semi-definite range."""
        return -1.0 / (self.size - 1), 1.0

    def lower_bounds(self) -> np.ndarray:
        """0 for the standard deviations, ``-1 / (size - 1)`` for rho."""
        return np.r_[np.zeros(self._n_sd), self.rho_bounds[0]]

    def upper_bounds(self) -> np.ndarray:
        """1 for rho."""
        return np.r_[np.full(self._n_sd, np.inf), self.rho_bounds[1]]

    def sd_columns(self) -> np.ndarray:
        """Entry j is column j's standard deviation; rho carries no scale."""
        return np.r_[np.arange(self._n_sd), -1]

    def _start_rho(self, correlation: np.ndarray | None) -> float:
        if correlation is None:
            return 0.0
        k = self.size
        mean = float((np.sum(correlation) - k) / (k * (k - 1)))
        low, high = self.rho_bounds
        middle, half = (low + high) / 2, START_CORRELATION_LIMIT * (high - low) / 2
        return min(max(mean, middle - half), middle + half)

    def start(self, sds: np.ndarray, correlation: np.ndarray | None = None) -> np.ndarray:
        """The columns' starting SDs; rho the mean correlation (0 when not given)."""
        return np.r_[np.asarray(sds, dtype=float), self._start_rho(correlation)]

    def lambda_(self, theta: np.ndarray) -> np.ndarray:
        """``diag(s)`` times the correlation matrix's factor; NaN for rho outside its range."""
        rho = _in_box(float(theta[-1]), *self.rho_bounds)
        if rho is None:
            return np.full((self.size, self.size), np.nan)
        out = np.empty((self.size, self.size))
        kernels.cs_factor_into(np.ascontiguousarray(theta[: self._n_sd], dtype=float), rho, out)
        return out

    def theta_labels(self, columns: tuple[str, ...]) -> tuple[str, ...]:
        """``cs.<column>`` per SD, ``cs.rho``."""
        return (*(f"cs.{c}" for c in columns), "cs.rho")

    def natural(self, theta: np.ndarray) -> np.ndarray:
        """The standard deviations and rho."""
        theta = np.asarray(theta, dtype=float)
        return np.r_[np.abs(theta[:-1]), theta[-1]]

    def from_natural(self, values: np.ndarray) -> np.ndarray | None:
        """The same numbers; None for rho outside its range."""
        values = np.asarray(values, dtype=float)
        low, high = self.rho_bounds
        if not low <= values[-1] <= high:
            return None
        return values.copy()

    def natural_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """[0, inf) for the SDs, rho's range."""
        return self.lower_bounds(), self.upper_bounds()

    def natural_names(self, columns: tuple[str, ...]) -> tuple[str, ...]:
        """``sd_<column>``, ``rho_cs``."""
        return (*(f"sd_{c}" for c in columns), f"rho_{self.kind}")

    def correlation_pairs(self) -> tuple[tuple[int, int], ...]:
        """The first pair shows rho."""
        return ((1, 0),)

    def kr_parameters(self, theta: np.ndarray, sigma2: float) -> np.ndarray:
        """The variances and rho (SAS's CSH parameters)."""
        return _variances_and_correlations(self, theta, sigma2)

    def kr_covariance(self, psi: np.ndarray) -> np.ndarray:
        """``D R(rho) D`` with ``D^2`` the variances."""
        return _covariance_of_variances(self, psi)


@dataclass(frozen=True)
class HomogeneousCompoundSymmetry(CompoundSymmetry):
    """``homcs``: one standard deviation and one correlation for all columns."""

    kind: ClassVar[str] = "homcs"
    scaling: ClassVar[Scaling] = "common"
    kr_linear: ClassVar[bool] = True

    @property
    def _n_sd(self) -> int:
        return 1

    def sd_columns(self) -> np.ndarray:
        """The SD carries the (common) column scale."""
        return np.array([0, -1])

    def start(self, sds: np.ndarray, correlation: np.ndarray | None = None) -> np.ndarray:
        """The root mean square of the columns' starting SDs; rho the mean correlation."""
        return np.array([float(np.sqrt(np.mean(np.square(sds)))), self._start_rho(correlation)])

    def theta_labels(self, columns: tuple[str, ...]) -> tuple[str, ...]:
        """``homcs.sd``, ``homcs.rho``."""
        return ("homcs.sd", "homcs.rho")

    def natural_names(self, columns: tuple[str, ...]) -> tuple[str, ...]:
        """``sd_homcs``, ``rho_homcs``."""
        return ("sd_homcs", "rho_homcs")

    def kr_parameters(self, theta: np.ndarray, sigma2: float) -> np.ndarray:
        """The variance and the covariance (the covariance is linear in them)."""
        s, rho = self.natural(theta)
        variance = sigma2 * s * s
        return np.array([variance, variance * rho])

    def kr_covariance(self, psi: np.ndarray) -> np.ndarray:
        """``(v - c) I + c J``."""
        variance, covariance = (float(v) for v in psi)
        return np.full((self.size, self.size), covariance) + (variance - covariance) * np.eye(
            self.size
        )


@dataclass(frozen=True)
class AutoRegressive1(Covariance):
    """``ar1``: one standard deviation, correlation ``rho^|i - j|`` between columns i and j."""

    kind: ClassVar[str] = "ar1"
    scaling: ClassVar[Scaling] = "common"
    min_size: ClassVar[int] = 2

    @property
    def n_theta(self) -> int:
        """The standard deviation and rho."""
        return 2

    def lower_bounds(self) -> np.ndarray:
        """0 and -1."""
        return np.array([0.0, -1.0])

    def upper_bounds(self) -> np.ndarray:
        """rho at most 1."""
        return np.array([np.inf, 1.0])

    def sd_columns(self) -> np.ndarray:
        """The SD carries the (common) column scale."""
        return np.array([0, -1])

    def start(self, sds: np.ndarray, correlation: np.ndarray | None = None) -> np.ndarray:
        """The root mean square of the columns' starting SDs; rho the mean lag-1 correlation."""
        rho = 0.0 if correlation is None else float(lag_means(correlation)[0])
        limit = START_CORRELATION_LIMIT
        return np.array([float(np.sqrt(np.mean(np.square(sds)))), min(max(rho, -limit), limit)])

    def lambda_(self, theta: np.ndarray) -> np.ndarray:
        """``L_ij = s rho^(i - j)`` in the first column, times ``sqrt(1 - rho^2)`` in the others."""
        rho = _in_box(float(theta[1]), -1.0, 1.0)
        if rho is None:
            return np.full((self.size, self.size), np.nan)
        out = np.empty((self.size, self.size))
        kernels.ar1_factor(float(theta[0]), rho, out)
        return out

    def theta_labels(self, columns: tuple[str, ...]) -> tuple[str, ...]:
        """``ar1.sd``, ``ar1.rho``."""
        return ("ar1.sd", "ar1.rho")

    def natural(self, theta: np.ndarray) -> np.ndarray:
        """The standard deviation and rho."""
        theta = np.asarray(theta, dtype=float)
        return np.array([abs(theta[0]), theta[1]])

    def from_natural(self, values: np.ndarray) -> np.ndarray | None:
        """The same numbers; None for rho outside [-1, 1]."""
        values = np.asarray(values, dtype=float)
        return values.copy() if -1.0 <= values[1] <= 1.0 else None

    def natural_names(self, columns: tuple[str, ...]) -> tuple[str, ...]:
        """``sd_ar1``, ``rho_ar1``."""
        return ("sd_ar1", "rho_ar1")

    def correlation_pairs(self) -> tuple[tuple[int, int], ...]:
        """The first pair shows rho."""
        return ((1, 0),)

    def kr_parameters(self, theta: np.ndarray, sigma2: float) -> np.ndarray:
        """The variance and rho (SAS's AR(1) parameters)."""
        return _variances_and_correlations(self, theta, sigma2)

    def kr_covariance(self, psi: np.ndarray) -> np.ndarray:
        """``v rho^|i - j|``."""
        return _covariance_of_variances(self, psi)


def pacf_to_acf(pacf: np.ndarray) -> np.ndarray:
    """Lag correlations ``r_1..r_m`` from partial autocorrelations (Durbin-Levinson)."""
    acf = np.empty(len(pacf))
    coef = np.empty(0)
    variance = 1.0
    for m, phi in enumerate(np.asarray(pacf, dtype=float)):
        # r_{m+1} = sum_j a_j r_{m+1-j} + phi v_m
        acf[m] = float(coef @ acf[m - 1 :: -1][:m]) + phi * variance if m else phi
        coef = np.r_[coef - phi * coef[::-1], phi]
        variance *= 1.0 - phi * phi
    return acf


def acf_to_pacf(acf: np.ndarray) -> np.ndarray | None:
    """Partial autocorrelations from lag correlations; None if those are not positive definite."""
    pacf = np.empty(len(acf))
    coef = np.empty(0)
    variance = 1.0
    acf = np.asarray(acf, dtype=float)
    for m in range(acf.size):
        if not variance > 0.0:
            return None
        predicted = float(coef @ acf[m - 1 :: -1][:m]) if m else 0.0
        phi = (acf[m] - predicted) / variance
        if not -1.0 <= phi <= 1.0:
            return None
        pacf[m] = phi
        coef = np.r_[coef - phi * coef[::-1], phi]
        variance *= 1.0 - phi * phi
    return pacf


@dataclass(frozen=True)
class Toeplitz(Covariance):
    """``toep``: a standard deviation per column, one correlation per lag."""

    kind: ClassVar[str] = "toep"
    scaling: ClassVar[Scaling] = "columns"
    min_size: ClassVar[int] = 2

    @property
    def n_theta(self) -> int:
        """``size`` SDs and ``size - 1`` partial autocorrelations."""
        return 2 * self.size - 1

    def lower_bounds(self) -> np.ndarray:
        """0 for the SDs, -1 for the partial autocorrelations."""
        return np.r_[np.zeros(self.size), np.full(self.size - 1, -1.0)]

    def upper_bounds(self) -> np.ndarray:
        """1 for the partial autocorrelations."""
        return np.r_[np.full(self.size, np.inf), np.ones(self.size - 1)]

    def sd_columns(self) -> np.ndarray:
        """Entry j < size is column j's SD."""
        return np.r_[np.arange(self.size), np.full(self.size - 1, -1)]

    def start(self, sds: np.ndarray, correlation: np.ndarray | None = None) -> np.ndarray:
        """The columns' starting SDs and partial autocorrelations.

        The partial autocorrelations are those of the mean correlation at each lag (shrunk
        toward 0 until positive definite), within the start limit.
        """
        pacf = np.zeros(self.size - 1)
        if correlation is not None:
            lags = lag_means(correlation)
            for _ in range(50):
                found = acf_to_pacf(lags)
                if found is not None and np.all(np.abs(found) < 1.0):
                    pacf = found
                    break
                lags = 0.9 * lags
        limit = START_CORRELATION_LIMIT
        return np.r_[np.asarray(sds, dtype=float), np.clip(pacf, -limit, limit)]

    def lambda_(self, theta: np.ndarray) -> np.ndarray:
        """``diag(s)`` times the Cholesky factor of the Toeplitz correlation matrix."""
        theta = np.asarray(theta, dtype=float)
        pacf = theta[self.size :]
        if np.any(np.abs(pacf) > 1.0 + _EDGE):
            return np.full((self.size, self.size), np.nan)
        out = np.empty((self.size, self.size))
        kernels.toeplitz_factor(
            np.ascontiguousarray(theta[: self.size]), np.clip(pacf, -1.0, 1.0), out
        )
        return out

    def numpy_lambda(self, theta: np.ndarray) -> np.ndarray:
        """:meth:`lambda_` by numpy (Durbin-Levinson, then a Cholesky): the kernel's yardstick."""
        theta = np.asarray(theta, dtype=float)
        pacf = np.clip(theta[self.size :], -1.0, 1.0)
        correlation = toeplitz(np.r_[1.0, pacf_to_acf(pacf)])
        return theta[: self.size, None] * robust_cholesky(correlation)

    def theta_labels(self, columns: tuple[str, ...]) -> tuple[str, ...]:
        """``toep.<column>`` per SD, ``toep.pacf<lag>``."""
        return (
            *(f"toep.{c}" for c in columns),
            *(f"toep.pacf{m}" for m in range(1, self.size)),
        )

    def natural(self, theta: np.ndarray) -> np.ndarray:
        """The standard deviations and the lag correlations."""
        theta = np.asarray(theta, dtype=float)
        pacf = np.clip(theta[self.size :], -1.0, 1.0)
        return np.r_[np.abs(theta[: self.size]), pacf_to_acf(pacf)]

    def from_natural(self, values: np.ndarray) -> np.ndarray | None:
        """Theta from SDs and lag correlations; None if those are not positive definite."""
        values = np.asarray(values, dtype=float)
        pacf = acf_to_pacf(values[self.size :])
        return None if pacf is None else np.r_[values[: self.size], pacf]

    def natural_names(self, columns: tuple[str, ...]) -> tuple[str, ...]:
        """``sd_<column>``, ``cor_lag<m>_toep``."""
        return (*(f"sd_{c}" for c in columns), *(f"cor_lag{m}_toep" for m in range(1, self.size)))

    def correlation_pairs(self) -> tuple[tuple[int, int], ...]:
        """Column 1 with column 1 + m shows the lag-m correlation."""
        return tuple((m, 0) for m in range(1, self.size))

    def kr_parameters(self, theta: np.ndarray, sigma2: float) -> np.ndarray:
        """The variances and the lag correlations (SAS's TOEPH parameters)."""
        return _variances_and_correlations(self, theta, sigma2)

    def kr_covariance(self, psi: np.ndarray) -> np.ndarray:
        """``D R D`` with ``D^2`` the variances, R the Toeplitz matrix of the lag correlations."""
        psi = np.asarray(psi, dtype=float)
        sd = np.sqrt(np.maximum(psi[: self.size], 0.0))
        return np.outer(sd, sd) * toeplitz(np.r_[1.0, psi[self.size :]])


def _variances_and_correlations(structure: Covariance, theta, sigma2: float) -> np.ndarray:
    """Kenward-Roger's parameters of a nonlinear structure, as SAS's.

    Absolute variances (in place of the standard deviations) and the natural correlation
    parameters.
    """
    out = structure.natural(theta)
    sd = structure.natural_is_sd()
    out[sd] = sigma2 * out[sd] ** 2
    return out


def _covariance_of_variances(structure: Covariance, psi) -> np.ndarray:
    """The covariance at variances and correlations (a negative variance taken as 0)."""
    values = np.array(psi, dtype=float)
    sd = structure.natural_is_sd()
    values[sd] = np.sqrt(np.maximum(values[sd], 0.0))
    theta = structure.from_natural(values)
    if theta is None:  # correlations outside their range: no covariance there
        raise ValueError(f"no valid {structure.kind} covariance at {values.tolist()}")
    return structure.relative_covariance(theta)
