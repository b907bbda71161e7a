"""The converged PIRLS state at one (theta, beta), shared by the general and compiled paths."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mixedmodels.linalg.factor import BlockedFactor
from mixedmodels.linalg.solve import Solution
from mixedmodels.linalg.statistics import SufficientStats

STEP_TOLERANCE = 1e-10  # max |step| (relative to 1 + max |u|) at which PIRLS stops


@dataclass(frozen=True, eq=False)
class Mode:
    """The converged PIRLS state at one (theta, beta).

    Attributes
    ----------
    u
        Spherical conditional modes per block, ``(levels, size)`` each.
    beta
        Fixed effects (updated when PIRLS ran with ``joint=True``).
    eta, mu
        Linear predictor and mean per row.
    deviance
        Sum of the deviance residuals at the mode.
    penalty
        ``|u|^2``.
    logdet_z, logdet_x
        ``log|L_Z|^2`` (and ``log|R_X|^2`` for a joint solve, else 0) at the mode's weights.
    factor, stats, solution
        The engine's factor, statistics and solution of the last iteration (statistics and
        solution None after the compiled one-block loops, which form neither).
    iterations
        Number of factorisations.
    """

    u: tuple[np.ndarray, ...]
    beta: np.ndarray
    eta: np.ndarray
    mu: np.ndarray
    deviance: float
    penalty: float
    logdet_z: float
    logdet_x: float
    factor: BlockedFactor
    stats: SufficientStats
    solution: Solution
    iterations: int
