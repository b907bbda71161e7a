"""broom.mixed's augment of glmer fits (make_glmm.R, broom.mixed 0.2.9.4), at lme4's estimates."""

from __future__ import annotations

import numpy as np
import pytest
from _postfit_glmm import MODELS, at_reference, data, fit, reference

from mixedmodels.summaries import augment
from mixedmodels.summaries.augment_glmm import augment_glmm

# lme4's .hat / .cooksd come from its factor one PIRLS step behind (see test_influence_glmm);
# the rest to the convergence of lme4's conditional modes (cbpp_probit: 3e-6)
TOLERANCE = {".hat": 2e-4, ".cooksd": 2e-3}


@pytest.mark.parametrize("name", MODELS)
def test_columns_match_broom_mixed(name):
    want = reference(name)["augment"]
    frame = augment_glmm(at_reference(name), data(name), hat="prior")
    assert list(frame.columns)[-len(want) :] == list(want)
    for column, values in want.items():
        values = np.asarray(values, dtype=float)
        scale = np.maximum(1.0, np.abs(values))
        diff = float(np.max(np.abs(frame[column].to_numpy() - values) / scale))
        assert diff < TOLERANCE.get(column, 5e-6), column


def test_default_leverage_is_the_working_weights_hat_matrix():
    result = fit("grouseticks")
    frame = result.augment()
    assert frame.equals(augment(result))
    np.testing.assert_array_equal(frame[".hat"], result.leverage().to_numpy())
    np.testing.assert_array_equal(frame[".cooksd"], result.cooks_distance().to_numpy())
    assert list(frame.columns[:7]) == list(data("grouseticks").columns)
    assert (frame[".hat"] < 1).all()
    np.testing.assert_allclose(frame[".fitted"], result.linear_predictor)
    np.testing.assert_allclose(frame[".mu"], result.fitted)
