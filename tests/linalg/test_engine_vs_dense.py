"""The blocked engine against a plain dense GLS implementation on small random designs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from gls_reference import Problem, dense_fit

import mixedmodels as mm


def model_problem(model) -> Problem:
    """The dense yardstick's view of a model built from a formula and a data frame."""
    design = model.design
    y = design.y if design.offset is None else design.y - design.offset
    blocks = [(b.codes, b.matrix, b.n_levels) for b in design.blocks]
    return Problem(blocks=blocks, X=design.X, y=y, weights=design.weights)


def dense_objective(model, theta, reml: bool) -> float:
    """Profiled objective of ``model`` at ``theta`` by plain GLS."""
    return dense_fit(model_problem(model), model.lambdas(theta), reml)["objective"]


FORMULAS = [
    "y ~ x + (1|g)",
    "y ~ x + (1 + x|g)",
    "y ~ x + (1|g) + (1|h)",
    "y ~ x + (x||g) + (1|h)",
    "y ~ x + (1 + x|g) + (1 + x|h)",
    "y ~ x + (1|g/h)",
    "y ~ 0 + x + (1 + x + z|g) + (0 + z|h)",
    "y ~ x * z + (1|g) + (1|h) + (1|k)",
]


def random_data(seed: int, n: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 9, n)
    h = rng.integers(0, 6, n)
    k = rng.integers(0, 4, n)
    x = rng.normal(size=n) * 2 + 1
    z = rng.uniform(-1, 3, n)
    y = 1 + 0.5 * x + rng.normal(size=9)[g] + rng.normal(size=6)[h] * 0.7 + rng.normal(size=n)
    return pd.DataFrame(
        {
            "y": y,
            "x": x,
            "z": z,
            "g": [f"g{v}" for v in g],
            "h": [f"h{v}" for v in h],
            "k": [f"k{v}" for v in k],
            "w": rng.uniform(0.5, 2.0, n),
            "o": rng.normal(size=n),
        }
    )


def random_theta(model, rng) -> np.ndarray:
    theta = rng.normal(size=model.n_theta) * 0.8
    bounded = model.lower_bounds == 0
    theta[bounded] = np.abs(theta[bounded]) + 0.05
    return theta


@pytest.mark.parametrize("formula", FORMULAS)
@pytest.mark.parametrize("reml", [True, False])
def test_objective_matches_dense(formula, reml):
    data = random_data(hash(formula) % 1000)
    model = mm.LinearMixedModel(formula, data)
    rng = np.random.default_rng(1)
    for _ in range(3):
        theta = random_theta(model, rng)
        assert model.objective(theta, reml) == pytest.approx(
            dense_objective(model, theta, reml), rel=1e-10, abs=1e-8
        )


@pytest.mark.parametrize("formula", FORMULAS[:5])
def test_weights_and_offset_match_dense(formula):
    data = random_data(7)
    model = mm.LinearMixedModel(formula, data, weights="w", offset="o")
    theta = random_theta(model, np.random.default_rng(3))
    for reml in (True, False):
        got = model.objective(theta, reml)
        assert got == pytest.approx(dense_objective(model, theta, reml), rel=1e-10, abs=1e-8)


def test_unit_weights_equal_no_weights():
    data = random_data(11).assign(one=1.0)
    plain = mm.LinearMixedModel("y ~ x + (1 + x|g) + (1|h)", data)
    weighted = mm.LinearMixedModel("y ~ x + (1 + x|g) + (1|h)", data, weights="one")
    theta = random_theta(plain, np.random.default_rng(5))
    assert weighted.objective(theta) == pytest.approx(plain.objective(theta), rel=1e-12)


@pytest.mark.parametrize("formula", FORMULAS)
def test_solution_matches_dense(formula):
    data = random_data(hash(formula) % 977)
    fit = mm.lmer(formula, data)
    dense = dense_fit(model_problem(fit.model), fit.model.lambdas(fit.theta), True)
    beta, b = dense["beta"], dense["b"]
    beta_cov, u_cov = dense["beta_cov_unscaled"], dense["u_cov_unscaled"]
    assert np.allclose(fit.fixef.to_numpy(), beta, rtol=1e-7, atol=1e-9)
    stacked = np.concatenate([frame.to_numpy().ravel() for frame in fit.ranef.values()])
    assert np.allclose(stacked, b, rtol=1e-6, atol=1e-8)
    assert np.allclose(fit.vcov.to_numpy(), fit.sigma**2 * beta_cov, rtol=1e-7, atol=1e-12)
    # conditional variances of b: sigma^2 Lam Var(u) Lam', diagonal blocks per level
    offset = 0
    lams = fit.model.lambdas(fit.theta)
    for block, lam in zip(fit.model.design.blocks, lams):
        size = block.size
        cv = fit.condvar[block.group_name]
        for level in range(block.n_levels):
            sl = slice(offset + level * size, offset + (level + 1) * size)
            want = fit.sigma**2 * lam @ u_cov[sl, sl] @ lam.T
            assert np.allclose(cv[level], want, rtol=1e-6, atol=1e-12)
        offset += block.n_levels * size
