"""LinearMixedModel: fits at the edges of the model space (see tests/linalg for the engine)."""

from __future__ import annotations

import numpy as np
import pytest

import mixedmodels as mm


def test_a_model_without_fixed_effects_fits_as_lme4():
    """``Reaction ~ 0 + (1|Subject)``: lme4 1.1-31 gives REML 1985.679691, theta 6.789687,
    sigma 44.259069 (computed with lme4_reference's R for this test)."""
    sleep = mm.datasets.load("sleepstudy")
    model = mm.LinearMixedModel("Reaction ~ 0 + (1|Subject)", sleep)
    ar1 = model.stats.Ar1.copy()
    fit = model.fit()
    assert fit.reml_criterion == pytest.approx(1985.679691, abs=1e-5)
    assert fit.theta[0] == pytest.approx(6.789687, rel=1e-5)
    assert fit.sigma == pytest.approx(44.259069, rel=1e-6)
    assert fit.fixef.empty
    assert fit.vcov.shape == (0, 0)
    assert np.array_equal(model.stats.Ar1, ar1)  # conditioning never writes into A
