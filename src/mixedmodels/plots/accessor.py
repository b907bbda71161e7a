"""``result.plot``: the plots of one fitted model as methods."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

from mixedmodels.plots.check import check_model, influence_plot, scale_location
from mixedmodels.plots.effect import effects
from mixedmodels.plots.longitudinal import trajectories
from mixedmodels.plots.profiles import profile_pairs, profile_zeta
from mixedmodels.plots.ranef import caterpillar, qq_ranef
from mixedmodels.plots.residuals import qq_residuals, residuals_vs_fitted


class PlotAccessor:
    """The plots of one fitted model, as ``result.plot.<name>(...)``.

    Parameters
    ----------
    result
        A fitted :class:`~mixedmodels.results.LmerResult`.
    """

    def __init__(self, result) -> None:
        self._result = result

    @cached_property
    def _profile(self):
        return self._result.profile()

    def caterpillar(self, group: str | None = None, **kwargs):
        """Caterpillar plot of the random effects; see :func:`caterpillar`."""
        return caterpillar(self._result, group, **kwargs)

    def qq_ranef(self, group: str | None = None, **kwargs):
        """Normal QQ plot of the random effects; see :func:`qq_ranef`."""
        return qq_ranef(self._result, group, **kwargs)

    def residuals(self, **kwargs):
        """Residuals against fitted values; see :func:`residuals_vs_fitted`."""
        return residuals_vs_fitted(self._result, **kwargs)

    def qq(self, **kwargs):
        """Normal QQ plot of the scaled residuals; see :func:`qq_residuals`."""
        return qq_residuals(self._result, **kwargs)

    def trajectories(self, x: str, group: str | None = None, **kwargs):
        """Observed and fitted trajectories per group; see :func:`trajectories`."""
        return trajectories(self._result, x, group, **kwargs)

    def profile_zeta(self, profile=None, parameters: Sequence[str] | None = None, **kwargs):
        """Profile zeta plot; profiles the model (once) when ``profile`` is None.

        See :func:`profile_zeta`.
        """
        return profile_zeta(profile if profile is not None else self._profile, parameters, **kwargs)

    def profile_pairs(self, profile=None, parameters: Sequence[str] | None = None, **kwargs):
        """Profile pairs plot; profiles the model (once) when ``profile`` is None.

        See :func:`profile_pairs`.
        """
        return profile_pairs(
            profile if profile is not None else self._profile, parameters, **kwargs
        )

    def effects(self, x: str, by: str | None = None, **kwargs):
        """Effect plot with confidence bands (ggpredict's look); see :func:`effects`."""
        return effects(self._result, x, by, **kwargs)

    def check_model(self, **kwargs):
        """The model-check panel (performance's check_model); see :func:`check_model`."""
        return check_model(self._result, **kwargs)

    def scale_location(self, **kwargs):
        """Scale-location plot; see :func:`scale_location`."""
        return scale_location(self._result, **kwargs)

    def influence(self, **kwargs):
        """Standardised residuals against leverage; see :func:`influence_plot`."""
        return influence_plot(self._result, **kwargs)

    def __repr__(self) -> str:
        """The plots available."""
        methods = (
            "caterpillar, qq_ranef, residuals, qq, trajectories, effects, check_model, "
            "scale_location, influence, profile_zeta, profile_pairs"
        )
        return f"<plots of {self._result!r}: {methods}>"
