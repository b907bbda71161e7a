"""What every plot shares (mixedmodels.plots._common): its error and how it picks a factor."""

from __future__ import annotations

import pytest

from mixedmodels import plots
from mixedmodels.errors import MixedModelsError
from mixedmodels.plots import PlotError


def test_a_plot_error_is_ours_and_a_value_error():
    assert issubclass(PlotError, MixedModelsError)
    assert issubclass(PlotError, ValueError)


def test_an_unknown_group_names_the_factors(sleep):
    with pytest.raises(PlotError, match="'Batch'"):
        plots.qq_ranef(sleep, "Batch")
    with pytest.raises(PlotError, match="'Batch'"):
        plots.trajectories(sleep, "Days", "Batch")


def test_several_factors_need_a_group_only_where_one_panel_is_drawn(penicillin):
    fig = plots.caterpillar(penicillin)  # every factor, one panel each
    assert len(fig.axes) == 2
    assert len(plots.caterpillar(penicillin, "plate").axes) == 1
