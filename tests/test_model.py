"""The model's objective closures against the plain objective, to the last bit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm


def three_factors(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 150
    g, h, k = rng.integers(0, 12, n), rng.integers(0, 5, n), rng.integers(0, 3, n)
    y = rng.normal(size=12)[g] + 0.5 * rng.normal(size=5)[h] + rng.normal(size=n)
    return pd.DataFrame({"y": y, "x": rng.normal(size=n), "g": g, "h": h, "k": k})


CASES = [
    ("diameter ~ 1 + (1|plate) + (1|sample)", lambda: mm.datasets.load("penicillin")),
    ("strength ~ 1 + (1|batch/cask)", lambda: mm.datasets.load("pastes")),
    ("y ~ x + (1|g) + (1|h) + (1|k)", lambda: three_factors(1)),
]


@pytest.mark.parametrize(("formula", "load"), CASES)
@pytest.mark.parametrize("reml", [True, False])
def test_small_rest_closure_equals_the_plain_objective(formula, load, reml):
    model = mm.LinearMixedModel(formula, load())
    objective = model._objective_function(reml)
    captured = [cell.cell_contents for cell in objective.__closure__]
    names = {getattr(c, "__name__", "") for c in captured if callable(c)}
    assert "small" in names  # the compiled small-rest path is the one taken
    rng = np.random.default_rng(4)
    for _ in range(20):
        x = np.abs(rng.normal(size=model.n_theta)) * 2 + 1e-3
        assert objective(x) == model._scaled_objective(x, reml)
    assert objective(np.zeros(model.n_theta)) == model._scaled_objective(
        np.zeros(model.n_theta), reml
    )


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


def test_parallel_check_of_a_long_one_block_model_gives_the_serial_fit(monkeypatch):
    from conftest import assert_parallel_check_gives_the_serial_fit

    from mixedmodels.model import LinearMixedModel

    rng = np.random.default_rng(4)
    levels = 3000
    g = np.repeat(np.arange(levels), 4)
    x1, x2 = rng.normal(size=g.size), rng.normal(size=g.size)
    b = rng.normal(size=(levels, 3)) * [1.0, 0.6, 0.4]
    y = 1.0 + 0.5 * x1 + b[g, 0] + b[g, 1] * x1 + b[g, 2] * x2 + rng.normal(size=g.size)
    data = pd.DataFrame({"y": y, "x1": x1, "x2": x2, "g": g})
    formula = "y ~ x1 + x2 + (1 + x1 + x2 | g)"
    assert LinearMixedModel(formula, data).workspace.level_chunks is None
    assert_parallel_check_gives_the_serial_fit(formula, data, monkeypatch)
