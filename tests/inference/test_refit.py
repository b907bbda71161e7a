"""refit_ml: lme4's refitML, the ML fit of a REML fit's model from its estimates."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import load_reference

import mixedmodels as mm
from mixedmodels.errors import ConvergenceWarning, FittingError
from mixedmodels.inference.refit import refit_ml
from mixedmodels.model import LinearMixedModel

FORMULA = "Reaction ~ Days + (Days | Subject)"


@pytest.fixture(scope="module")
def sleepstudy():
    return mm.datasets.load("sleepstudy")


def test_the_refit_is_lme4s_ml_fit(sleepstudy):
    reml = mm.lmer(FORMULA, sleepstudy)
    ml = refit_ml(reml)
    assert not ml.reml
    reference = load_reference("sleepstudy_rs_ml")
    assert ml.deviance == pytest.approx(reference["objective"], abs=1e-6)
    direct = mm.lmer(FORMULA, sleepstudy, REML=False)
    np.testing.assert_allclose(ml.theta, direct.theta, rtol=1e-4)


def test_a_refit_that_fails_from_the_estimates_starts_from_the_default(sleepstudy, monkeypatch):
    reml = mm.lmer(FORMULA, sleepstudy)
    starts = []
    fit = LinearMixedModel.fit

    def fail_when_started(self, REML=True, start=None, control=None):
        starts.append(start)
        if start is not None:
            raise FittingError("the objective is not finite at the starting values")
        return fit(self, REML=REML, start=start, control=control)

    monkeypatch.setattr(LinearMixedModel, "fit", fail_when_started)
    ml = refit_ml(reml)
    assert starts[0] is not None
    assert starts[1] is None
    assert not ml.reml


def test_quiet_leaves_out_convergence_warnings(sleepstudy, monkeypatch):
    reml = mm.lmer(FORMULA, sleepstudy)
    fit = LinearMixedModel.fit

    def warning_fit(self, **kwargs):
        warnings.warn("not converged", ConvergenceWarning, stacklevel=1)
        return fit(self, **kwargs)

    monkeypatch.setattr(LinearMixedModel, "fit", warning_fit)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        refit_ml(reml, quiet=True)
        with pytest.raises(ConvergenceWarning):
            refit_ml(reml)
