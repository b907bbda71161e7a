"""Generalized linear mixed models on the blocked engine: ``glmer`` and ``glmer_nb``.

>>> import mixedmodels as mm
>>> fit = mm.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)",
...                mm.datasets.load("cbpp"), family="binomial")
"""

from mixedmodels.glmm.families import (
    Binomial,
    Family,
    Gamma,
    InverseGaussian,
    NegativeBinomial,
    Poisson,
    get_family,
)
from mixedmodels.glmm.links import Link, get_link
from mixedmodels.glmm.model import GeneralizedLinearMixedModel, glmer
from mixedmodels.glmm.negbin import glmer_nb
from mixedmodels.glmm.results import GlmerResult

__all__ = [
    "Binomial",
    "Family",
    "Gamma",
    "GeneralizedLinearMixedModel",
    "GlmerResult",
    "InverseGaussian",
    "Link",
    "NegativeBinomial",
    "Poisson",
    "get_family",
    "get_link",
    "glmer",
    "glmer_nb",
]
