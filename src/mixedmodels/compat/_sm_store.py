"""``remove_data``, ``save`` and ``load`` of ``MixedLMResults``, as statsmodels has them.

statsmodels' ``remove_data`` drops the data arrays from the results and the model so that a
pickled result is small; ``summary()``, ``params``, ``bse``, ``conf_int()``, the tests and
``predict`` on new data keep working. Here every estimate and standard error is computed
first and the engine model (which holds the data) is dropped.
"""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

__all__ = ["StoreMixin"]

# computed before the data go: everything summary(), the tests and predict(newdata) read
_KEEP = (
    "_theta",
    "reml",
    "converged",
    "scale",
    "llf",
    "df_resid",
    "_group_sizes",
    "fe_params",
    "_psi",
    "cov_re_unscaled",
    "cov_re",
    "vcomp",
    "params",
    "_estimated",
    "_information",
    "bse",
    "bse_re",
)
# results that are one value per row (statsmodels' ``_data_in_cache``) or need the data
_DROP = ("fittedvalues", "resid", "random_effects", "random_effects_cov", "_group_design")


class StoreMixin:
    """``remove_data``, ``save`` and ``load`` for a results class with cached properties."""

    def remove_data(self) -> None:
        """Drop the data arrays from the result and its model (statsmodels' ``remove_data``).

        Estimates, standard errors, ``summary()``, ``conf_int()``, ``t_test``,
        ``wald_test``, ``f_test`` and ``predict(new_data)`` keep working; ``fittedvalues``,
        ``resid``, ``random_effects`` and ``profile_re`` need the data and raise afterwards.
        As in statsmodels, a formula model keeps the data frame it was given.
        """
        for name in _KEEP:
            getattr(self, name)
        for name in _DROP:
            self.__dict__.pop(name, None)
        model = self.model  # type: ignore[attr-defined]
        layout = model.layout
        if layout.endog is not None:
            model.layout = dataclasses.replace(
                layout, endog=None, exog=None, groups=None, exog_re=None, vcs=(), row_index=None
            )
        for key in [k for k in model.__dict__ if k.endswith("_cache")]:
            del model.__dict__[key]  # per-group statistics of the data, rebuilt on demand
        object.__setattr__(self, "lmer_result", None)

    @property
    def data_removed(self) -> bool:
        """Whether :meth:`remove_data` has been called."""
        return self.__dict__.get("lmer_result", self) is None

    def save(self, fname, remove_data: bool = False) -> None:
        """Pickle the result to ``fname`` (a path or a writable binary file).

        Parameters
        ----------
        fname
            Path or file object.
        remove_data
            Call :meth:`remove_data` first (a smaller file).
        """
        if remove_data:
            self.remove_data()
        if hasattr(fname, "write"):
            pickle.dump(self, fname, protocol=pickle.HIGHEST_PROTOCOL)
            return
        with Path(fname).open("wb") as handle:
            pickle.dump(self, handle, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def load(cls, fname):
        """A result written by :meth:`save` (a path or a readable binary file).

        Only load files you trust: this is :func:`pickle.load`.
        """
        if hasattr(fname, "read"):
            out = pickle.load(fname)
        else:
            with Path(fname).open("rb") as handle:
                out = pickle.load(handle)
        if not isinstance(out, cls):
            raise TypeError(f"{fname!r} does not hold a {cls.__name__}")
        return out
