"""Diagnostic, effect and inference plots of fitted models (matplotlib, the ``[plot]`` extra).

Single-panel plots (:func:`residuals_vs_fitted`, :func:`qq_residuals`, :func:`effects`,
:func:`scale_location`, :func:`influence_plot`) return the :class:`~matplotlib.axes.Axes`
they drew on; multi-panel plots (:func:`caterpillar`, :func:`qq_ranef`, :func:`trajectories`,
:func:`check_model`, :func:`profile_zeta`, :func:`profile_pairs`) return the
:class:`~matplotlib.figure.Figure`. Every function accepts ``ax=``: one Axes, or for
multi-panel plots a sequence with one Axes per panel. The same plots are methods of
``result.plot``:

>>> import mixedmodels as mm
>>> fit = mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))
>>> fig = fit.plot.caterpillar()
>>> ax = fit.plot.effects("Days")
>>> fig = fit.plot.check_model()

matplotlib is imported when a plot is drawn, not when this package is imported.
"""

from __future__ import annotations

from mixedmodels.plots._common import PlotError
from mixedmodels.plots.accessor import PlotAccessor
from mixedmodels.plots.check import check_model, influence_plot, scale_location
from mixedmodels.plots.effect import effects, effects_frame
from mixedmodels.plots.longitudinal import trajectories
from mixedmodels.plots.profiles import profile_pairs, profile_zeta
from mixedmodels.plots.ranef import caterpillar, qq_ranef
from mixedmodels.plots.residuals import qq_residuals, residuals_vs_fitted

__all__ = [
    "PlotAccessor",
    "PlotError",
    "caterpillar",
    "check_model",
    "effects",
    "effects_frame",
    "influence_plot",
    "profile_pairs",
    "profile_zeta",
    "qq_ranef",
    "qq_residuals",
    "residuals_vs_fitted",
    "scale_location",
    "trajectories",
]
