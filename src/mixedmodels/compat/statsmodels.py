"""statsmodels' MixedLM interface on the mixedmodels engine: switch by changing one import.

>>> import mixedmodels.compat.statsmodels as sm
>>> from mixedmodels.compat.statsmodels import MixedLMParams

provides ``sm.MixedLM`` (with ``MixedLM.from_formula``), ``sm.mixedlm``, ``MixedLMParams``
(both its current form and the older ``MixedLMParams(k_fe, k_re)`` with ``set_fe_params`` /
``set_cov_re``) and ``VCSpec``. Models are translated into lme4 formulas and fitted by
:class:`mixedmodels.LinearMixedModel`; results carry statsmodels' attribute names and
parameterisation (``cov_re`` and ``vcomp`` on the data scale, ``scale`` the residual
variance, ``params`` packed relative to the scale). See ``docs/statsmodels.md`` for where the
answers differ from statsmodels' own (better optima, data-scale variance SEs and profiles).
"""

from __future__ import annotations

from mixedmodels.compat._sm_design import UnsupportedFeatureError
from mixedmodels.compat._sm_model import MixedLM, mixedlm
from mixedmodels.compat._sm_params import MixedLMParams, VCSpec
from mixedmodels.compat._sm_results import MixedLMResults
from mixedmodels.compat._sm_summary import MixedLMSummary
from mixedmodels.errors import ConvergenceWarning

__all__ = [
    "ConvergenceWarning",
    "MixedLM",
    "MixedLMParams",
    "MixedLMResults",
    "MixedLMSummary",
    "UnsupportedFeatureError",
    "VCSpec",
    "mixedlm",
]
