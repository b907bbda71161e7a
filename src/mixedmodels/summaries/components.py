"""The variance components of a fit on the scale of Nakagawa's R2 (shared by LMMs and GLMMs)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VarianceComponents:
    """The variances Nakagawa's R2 divides (insight's ``get_variance``).

    Attributes
    ----------
    fixed, random, residual
        Variance of the fixed part, of the random effects (all terms) and of the residuals.
    by_term
        The random variance of every term, labelled as ``varcorr``'s groups.
    distribution, dispersion
        The residual's two parts (insight's ``var.distribution``, ``var.dispersion``): for a
        linear mixed model ``sigma^2`` and 0; for a GLMM see
        :mod:`mixedmodels.summaries.r2_glmm`.
    """

    fixed: float
    random: float
    residual: float
    by_term: dict[str, float]
    distribution: float | None = None
    dispersion: float = 0.0

    @property
    def total(self) -> float:
        """fixed + random + residual."""
        return self.fixed + self.random + self.residual
