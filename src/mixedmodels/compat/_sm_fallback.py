"""Names the facade does not define, looked up in statsmodels itself.

``import mixedmodels.compat.statsmodels as sm`` replaces ``import statsmodels.api as sm`` in
a notebook that also uses ``sm.OLS``, ``sm.add_constant``, ``sm.datasets``...: every name the
facade does not define falls through to ``statsmodels.api`` (or ``statsmodels.formula.api``
for ``smf``) when statsmodels is installed.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["fallback", "fallback_dir"]


def _target(module: str) -> ModuleType | None:
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def fallback(facade: str, module: str, name: str):
    """Attribute ``name`` of statsmodels' ``module`` for the facade module ``facade``.

    Raises
    ------
    AttributeError
        When statsmodels is not installed (saying so) or does not define ``name``.
    """
    if name.startswith("__") and name.endswith("__"):
        raise AttributeError(f"module {facade!r} has no attribute {name!r}")
    target = _target(module)
    if target is None:
        raise AttributeError(
            f"module {facade!r} has no attribute {name!r}: only MixedLM and its helpers are "
            f"provided by mixedmodels; {name!r} needs statsmodels (pip install statsmodels), "
            f"where it is looked up in {module}"
        )
    try:
        return getattr(target, name)
    except AttributeError:
        raise AttributeError(
            f"module {facade!r} has no attribute {name!r} (nor has {module})"
        ) from None


def fallback_dir(own: dict, module: str) -> list[str]:
    """The facade's own names and, when statsmodels is installed, those of ``module``."""
    names = {n for n in own if not n.startswith("_")}
    target = _target(module)
    if target is not None:
        names |= {n for n in dir(target) if not n.startswith("_")}
    return sorted(names)
