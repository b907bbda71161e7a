"""``LinearMixedModel.result_at``: the fit at a given theta (public; the facade's fits use it)."""

from __future__ import annotations

import numpy as np
import pytest

import mixedmodels as mm
from mixedmodels.errors import DesignError


@pytest.fixture(scope="module")
def sleep_model():
    return mm.LinearMixedModel("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))


@pytest.mark.parametrize("reml", [True, False])
def test_result_at_the_optimum_is_the_fit(sleep_model, reml):
    fit = sleep_model.fit(REML=reml)
    at = sleep_model.result_at(fit.theta, REML=reml)
    assert at.reml == reml
    assert at.optsum.return_value == "NOT_OPTIMIZED"
    assert at.optsum.evaluations == 0
    assert at.loglik == pytest.approx(fit.loglik, abs=1e-10)
    assert at.sigma == pytest.approx(fit.sigma, rel=1e-10)
    np.testing.assert_allclose(at.fixef, fit.fixef, rtol=1e-10)
    np.testing.assert_allclose(at.ranef["Subject"], fit.ranef["Subject"], rtol=1e-8)


def test_result_at_another_point_profiles_beta_and_sigma(sleep_model):
    fit = sleep_model.fit()
    theta = np.asarray(fit.theta) * np.array([0.5, 1.0, 2.0])
    at = sleep_model.result_at(theta, optsum=fit.optsum)
    assert at.optsum is fit.optsum
    assert at.reml_criterion == pytest.approx(sleep_model.objective(theta, True), abs=1e-9)
    assert at.reml_criterion > fit.reml_criterion
    assert abs(at.sigma - fit.sigma) > 1e-3  # sigma profiled at theta, not the fit's


def test_result_at_refuses_a_theta_out_of_bounds(sleep_model):
    with pytest.raises(DesignError, match="3 entries"):
        sleep_model.result_at(np.ones(2))
    with pytest.raises(DesignError, match=r"outside its bounds.*Subject\.\(Intercept\)"):
        sleep_model.result_at(np.array([-1.0, 0.0, 1.0]))
    with pytest.raises(DesignError, match="not finite"):
        sleep_model.result_at(np.array([1.0, np.nan, 1.0]))
