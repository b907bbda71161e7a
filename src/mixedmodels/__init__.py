"""mixedmodels: linear mixed-effects models with lme4's formula grammar.

>>> import mixedmodels as mm
>>> fit = mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))
"""

from mixedmodels import datasets, sources
from mixedmodels.batch import lmer_many
from mixedmodels.errors import (
    ConvergenceWarning,
    DesignError,
    FittingError,
    FormulaError,
    InferenceError,
    MissingColumnError,
    MixedModelsError,
    RankDeficiencyWarning,
    RowDataUnavailableError,
    SingularFitWarning,
)
from mixedmodels.inference.anova import anova
from mixedmodels.model import LinearMixedModel, lmer
from mixedmodels.persist import load_fit
from mixedmodels.results import LmerResult

__version__ = "0.1.0"

__all__ = [
    "ConvergenceWarning",
    "DesignError",
    "FittingError",
    "FormulaError",
    "InferenceError",
    "LinearMixedModel",
    "LmerResult",
    "MissingColumnError",
    "MixedModelsError",
    "RankDeficiencyWarning",
    "RowDataUnavailableError",
    "SingularFitWarning",
    "anova",
    "datasets",
    "lmer",
    "lmer_many",
    "load_fit",
    "sources",
]
