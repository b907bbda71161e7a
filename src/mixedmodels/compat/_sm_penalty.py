"""Penalised fits, ``fit(fe_pen=..., cov_pen=...)``, as statsmodels defines them.

statsmodels subtracts ``cov_pen.func(psi, psi^-1)`` (``psi = cov_re / scale``, a
``CovariancePenalty`` such as ``PSD``) and ``fe_pen.func(fe_params)`` (a ``Penalty`` such as
``L2``, weighted by its ``alpha``) from its profile log-likelihood. In ``fit`` the fixed
effects are profiled: the penalty is taken at their GLS estimate, which is what ``fit``
reports (the fixed effects are not shrunk; ``fit_regularized`` shrinks them). The fit
maximises that penalised criterion over the variance parameters; ``llf`` is its value there,
and the model's ``loglike`` and ``score`` include the penalties until the next fit, as in
statsmodels. Standard errors come from the Hessian of the unpenalised log-likelihood
(statsmodels' ``hessian`` has no penalty term).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Penalties"]


def _inverse(matrix: np.ndarray) -> np.ndarray:
    """statsmodels' ``cov_re_inv``: the inverse, or the pseudo-inverse when singular."""
    try:
        return np.linalg.inv(matrix)
    except np.linalg.LinAlgError:
        return np.linalg.pinv(matrix)


@dataclass(frozen=True, eq=False)
class Penalties:
    """The penalties of a fit (statsmodels' penalty objects, either may be None).

    Attributes
    ----------
    fe_pen
        Penalty on the fixed effects (``func``, ``deriv`` of the parameter vector).
    cov_pen
        Penalty on ``cov_re / scale`` (``func(mat, mat_inv)``, ``deriv(mat, mat_inv)``: the
        gradient in the lower triangle).
    """

    fe_pen: Any
    cov_pen: Any

    @property
    def any(self) -> bool:
        """Whether there is a penalty."""
        return self.fe_pen is not None or self.cov_pen is not None

    def value(self, fe: np.ndarray, psi: np.ndarray) -> float:
        """The amount subtracted from the log-likelihood at ``(fe, psi)``."""
        total = 0.0
        psi = np.atleast_2d(np.asarray(psi, dtype=float))
        if self.cov_pen is not None and psi.size:
            total += float(self.cov_pen.func(psi, _inverse(psi)))
        if self.fe_pen is not None:
            total += float(np.sum(self.fe_pen.func(np.asarray(fe, dtype=float))))
        return total

    def gradient(self, fe: np.ndarray, psi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The penalties' gradients in the fixed effects and in ``psi``'s lower triangle."""
        psi = np.atleast_2d(np.asarray(psi, dtype=float))
        k = psi.shape[0] if psi.size else 0
        d_re = np.zeros(k * (k + 1) // 2)
        d_fe = np.zeros(np.size(fe))
        if self.cov_pen is not None and k:
            d_re = np.asarray(self.cov_pen.deriv(psi, _inverse(psi)), dtype=float)
        if self.fe_pen is not None:
            d_fe = np.asarray(self.fe_pen.deriv(np.asarray(fe, dtype=float)), dtype=float)
        return d_fe, d_re
