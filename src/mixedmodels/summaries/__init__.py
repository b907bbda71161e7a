"""Model summaries after the fit.

Nakagawa's R2 and the ICC, collinearity, model comparison (R's performance) and tidy tables
(R's broom.mixed).
"""

from mixedmodels.summaries.collinearity import vif
from mixedmodels.summaries.compare import compare
from mixedmodels.summaries.r2 import VarianceComponents, icc, r2_nakagawa, variance_components
from mixedmodels.summaries.tidy import augment, glance, tidy

__all__ = [
    "VarianceComponents",
    "augment",
    "compare",
    "glance",
    "icc",
    "r2_nakagawa",
    "tidy",
    "variance_components",
    "vif",
]
