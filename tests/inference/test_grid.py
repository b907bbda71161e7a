"""The likelihood profile's constrained statistics (mixedmodels.inference._grid).

A fixed effect held at a value is its column moved into the response: the statistics of
:func:`fixed_effect_statistics` give the objective of that model fitted directly, with the
value times the column as an offset.
"""

from __future__ import annotations

import numpy as np
import pytest

import mixedmodels as mm
from mixedmodels.inference._grid import fixed_effect_statistics
from mixedmodels.linalg import Workspace, evaluate_objective


@pytest.mark.parametrize("value", [0.0, 5.0, 10.467])
@pytest.mark.parametrize("reml", [False, True])
def test_a_fixed_coefficient_is_an_offset(value, reml):
    sleep = mm.datasets.load("sleepstudy")
    model = mm.LinearMixedModel("Reaction ~ Days + (Days | Subject)", sleep)
    stats = fixed_effect_statistics(model.stats, 1, value)
    assert stats.p == 1
    offset = mm.LinearMixedModel(
        "Reaction ~ 1 + (Days | Subject)", sleep, offset=value * sleep["Days"].to_numpy()
    )
    theta = np.array([0.9, 0.05, 0.2])
    lams = offset.lambdas(theta)
    held = evaluate_objective(Workspace(stats), lams[0], lams[1:], reml)
    assert held == pytest.approx(offset.objective(theta, reml), rel=1e-9)
