"""mixedmodels: linear mixed-effects models with lme4's formula grammar.

>>> import mixedmodels as mm
>>> fit = mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))
"""

from mixedmodels import datasets, sources
from mixedmodels._version import __version__ as __version__
from mixedmodels.api import lmer, load_fit
from mixedmodels.batch import lmer_many
from mixedmodels.config import show_config
from mixedmodels.errors import (
    CompleteSeparationWarning,
    ConvergenceWarning,
    DesignError,
    FittingError,
    FormulaError,
    InferenceError,
    MissingColumnError,
    MixedModelsError,
    NonIntegerCountWarning,
    RankDeficiencyWarning,
    RowDataUnavailableError,
    SingularFitWarning,
)
from mixedmodels.glmm import GeneralizedLinearMixedModel, GlmerResult, glmer, glmer_nb
from mixedmodels.inference.anova import anova
from mixedmodels.model import LinearMixedModel
from mixedmodels.results import LmerResult

__all__ = [
    "CompleteSeparationWarning",
    "ConvergenceWarning",
    "DesignError",
    "FittingError",
    "FormulaError",
    "GeneralizedLinearMixedModel",
    "GlmerResult",
    "InferenceError",
    "LinearMixedModel",
    "LmerResult",
    "MissingColumnError",
    "MixedModelsError",
    "NonIntegerCountWarning",
    "RankDeficiencyWarning",
    "RowDataUnavailableError",
    "SingularFitWarning",
    "anova",
    "datasets",
    "glmer",
    "glmer_nb",
    "lmer",
    "lmer_many",
    "load_fit",
    "show_config",
    "sources",
]
