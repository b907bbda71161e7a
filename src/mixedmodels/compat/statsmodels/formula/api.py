"""``statsmodels.formula.api`` with ``mixedlm`` fitted by mixedmodels.

>>> import mixedmodels.compat.statsmodels.formula.api as smf

``smf.mixedlm`` is :func:`mixedmodels.compat.statsmodels.mixedlm`; every other name
(``smf.ols``, ``smf.glm``...) is statsmodels.formula.api's own when statsmodels is installed.
"""

from __future__ import annotations

from mixedmodels.compat._sm_fallback import fallback, fallback_dir
from mixedmodels.compat._sm_model import mixedlm

__all__ = ["mixedlm"]


def __getattr__(name: str):
    """statsmodels.formula.api's ``name`` (when statsmodels is installed)."""
    return fallback(__name__, "statsmodels.formula.api", name)


def __dir__() -> list[str]:
    """Our names and statsmodels.formula.api's."""
    return fallback_dir(globals(), "statsmodels.formula.api")
