"""The GLMM's direct theta map of one-column terms against ThetaScaling's general map."""

from __future__ import annotations

import numpy as np
import pytest

import mixedmodels as mm
from mixedmodels.glmm.model import GeneralizedLinearMixedModel
from mixedmodels.scaling import ThetaScaling


@pytest.mark.parametrize(
    ("formula", "data"),
    [
        ("cbind(incidence, size - incidence) ~ period + (1 | herd) + (1 | obs)", "cbpp"),
        ("use ~ age + urban + (1 + age | district)", "contraception"),
    ],
)
def test_lambdas_of_scaled_theta(formula, data):
    model = GeneralizedLinearMixedModel(formula, mm.datasets.load(data))
    rng = np.random.default_rng(1)
    for _ in range(3):
        x = rng.normal(size=model.n_theta)
        got = model.lambdas_scaled(x)
        want = model.lambdas(model.scaling.to_theta(x))
        for a, b in zip(got, want, strict=True):
            np.testing.assert_array_equal(a, b)
    # a new scaling object is followed, not the cached factors of the old one
    model.scaling = ThetaScaling(
        terms=model.scaling.terms, transforms=tuple(2.0 * T for T in model.scaling.transforms)
    )
    x = np.abs(rng.normal(size=model.n_theta))
    want = model.lambdas(model.scaling.to_theta(x))
    for a, b in zip(model.lambdas_scaled(x), want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-15)
