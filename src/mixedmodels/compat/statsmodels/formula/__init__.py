"""``statsmodels.formula`` for the facade: see :mod:`.api`."""

from mixedmodels.compat.statsmodels.formula import api

__all__ = ["api"]
