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

Every other name (``sm.OLS``, ``sm.add_constant``, ``sm.datasets``, ``sm.GLM``...) is
statsmodels.api's own when statsmodels is installed; ``mixedmodels.compat.statsmodels.formula.api``
stands for ``statsmodels.formula.api`` likewise, with ``smf.mixedlm`` ours.
"""

from __future__ import annotations

from mixedmodels.compat._sm_design import UnsupportedFeatureError
from mixedmodels.compat._sm_fallback import fallback, fallback_dir
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


def __getattr__(name: str):
    """statsmodels.api's ``name`` (when statsmodels is installed)."""
    return fallback(__name__, "statsmodels.api", name)


def __dir__() -> list[str]:
    """Our names and statsmodels.api's."""
    return fallback_dir(globals(), "statsmodels.api")
