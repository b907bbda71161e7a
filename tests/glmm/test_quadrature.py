"""The compiled adaptive Gauss-Hermite sum against the numpy formula."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.glmm.model import GeneralizedLinearMixedModel
from mixedmodels.glmm.quadrature import agq_value, agq_value_numpy


def _counts(rng) -> pd.DataFrame:
    n, levels = 150, 12
    g = rng.integers(0, levels, n)
    x = rng.normal(size=n)
    eta = 0.5 + 0.4 * x + rng.normal(scale=0.6, size=levels)[g]
    return pd.DataFrame({"y": rng.poisson(np.exp(eta)), "x": x, "g": [f"g{v}" for v in g]})


@pytest.mark.parametrize("n_nodes", [1, 2, 9, 25])
@pytest.mark.parametrize("family", ["binomial", "poisson"])
def test_compiled_sum_equals_numpy(n_nodes, family):
    rng = np.random.default_rng(n_nodes)
    if family == "binomial":
        model = GeneralizedLinearMixedModel(
            "cbind(incidence, size - incidence) ~ period + (1 | herd)", mm.datasets.load("cbpp")
        )
    else:
        model = GeneralizedLinearMixedModel("y ~ x + (1 | g)", _counts(rng), family="poisson")
    theta = np.array([rng.uniform(0.3, 1.2)])
    beta = model.glm_beta + rng.normal(scale=0.1, size=model.n_fixed)
    mode = model.mode(theta, beta)
    lam = float(model.lambdas(theta)[0][0, 0])
    fast = agq_value(model.problem, mode, lam, n_nodes)
    plain = agq_value_numpy(model.problem, mode, lam, n_nodes)
    assert fast == pytest.approx(plain, abs=1e-9)
    if n_nodes == 1:  # one node is the Laplace approximation
        assert fast == pytest.approx(model.objective(theta, beta), abs=1e-9)
