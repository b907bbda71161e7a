"""Leverage and Cook's distance of glmer fits (final PIRLS working weights) against R.

make_glmm.R stores, per model, lme4's ``hatvalues`` / ``cooks.distance`` (whose factor holds
the weights of lme4's last PIRLS iteration), the hat matrix formed densely from lme4's Z,
Lambda and X at the fitted means (scaled by the working or by the prior weights), and R's
``glm`` hatvalues / cooks.distance of the fixed part, the theta = 0 limit.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _postfit_glmm import MODELS, at_reference, fit, reference, result_at

from mixedmodels.errors import InferenceError
from mixedmodels.influence import cooks_distance, leverage
from mixedmodels.influence_glmm import glmm_cooks_distance, glmm_leverage, working_weights


def _rel(got, want) -> float:
    want = np.asarray(want, dtype=float)
    return float(np.max(np.abs(np.asarray(got) - want) / np.abs(want)))


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("weights", ["working", "prior"])
def test_leverage_equals_the_dense_hat_matrix_at_lme4_estimates(name, weights):
    """Through the blocked factor, no dense Z; 2e-6 is how far lme4's own conditional modes
    are from converged (cbpp_probit; the other models agree to 2e-9)."""
    dense = reference(name)["dense"]
    result = at_reference(name)
    assert _rel(glmm_leverage(result, weights), dense[weights]) < 2e-6
    assert _rel(glmm_cooks_distance(result, weights), dense[f"cooks_{weights}"]) < 2e-5


@pytest.mark.parametrize("name", MODELS)
def test_prior_weighting_is_lme4s_hatvalues_and_cooks_distance(name):
    """lme4's factor lags one PIRLS step behind its means (its weights differ by up to 1.2e-4
    from those at the means), hence the tolerance."""
    ref = reference(name)
    result = at_reference(name)
    assert _rel(glmm_leverage(result, "prior"), ref["hatvalues"]) < 2e-4
    assert _rel(glmm_cooks_distance(result, "prior"), ref["cooks"]) < 2e-3
    assert _rel(working_weights(result), ref["working_weights"]) < 2e-4


@pytest.mark.parametrize("name", MODELS)
def test_theta_zero_is_glms_hat_matrix(name):
    ref = reference(name)["glm"]
    model = fit(name).model
    beta = model.glm_beta
    np.testing.assert_allclose(beta, ref["beta"], rtol=1e-8, atol=1e-9)
    at_zero = result_at(model, np.zeros(fit(name).theta.size), beta)
    # R's glm weights are those of its last IRLS iteration, too (grouseticks: 5e-7)
    np.testing.assert_allclose(glmm_leverage(at_zero), ref["hatvalues"], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(glmm_cooks_distance(at_zero), ref["cooks"], rtol=1e-6)


@pytest.mark.parametrize("name", MODELS)
def test_working_leverage_is_a_hat_diagonal(name):
    h = glmm_leverage(fit(name))
    assert h.index.equals(fit(name).design.row_index)
    assert h.name == "leverage"
    assert ((h > 0) & (h < 1)).all()
    # trace of the hat matrix: at most the number of fixed plus random coefficients
    q = sum(b.n_levels * b.matrix.shape[1] for b in fit(name).design.blocks)
    assert fit(name).n_fixed < h.sum() < fit(name).n_fixed + q


def test_generic_functions_and_methods_dispatch():
    cbpp = fit("cbpp")
    assert leverage(cbpp).equals(cbpp.leverage())
    assert leverage(cbpp, "prior").equals(cbpp.leverage(weights="prior"))
    assert cooks_distance(cbpp).equals(cbpp.cooks_distance())
    with pytest.raises(InferenceError, match="'working' or 'prior'"):
        cbpp.leverage(weights="pearson")


def test_own_fit_close_to_lme4():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = fit("owls").leverage("prior")
    assert _rel(got, reference("owls")["hatvalues"]) < 1e-4
