"""emmeans' reference grid (mixedmodels.inference.reference_grid)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.inference.reference_grid import reference_grid


def data():
    rng = np.random.default_rng(0)
    n = 60
    f = np.tile(["a", "b", "c"], n // 3)
    h = np.repeat(["u", "v"], n // 2)
    x = rng.uniform(0, 10, n)
    g = np.tile(np.arange(6), n // 6)
    y = (f == "b") + 0.1 * x + rng.normal(size=6)[g] + rng.normal(size=n)
    return pd.DataFrame({"y": y, "f": f, "h": h, "x": x, "g": g})


@pytest.fixture(scope="module")
def fit():
    return mm.lmer("y ~ f + h + x + (1 | g)", data())


def test_every_level_combination_with_covariates_at_their_means(fit):
    grid = reference_grid(fit)
    assert len(grid) == 6
    assert grid["f"].tolist() == ["a", "b", "c", "a", "b", "c"]  # the first factor fastest
    assert grid["h"].tolist() == ["u", "u", "u", "v", "v", "v"]
    np.testing.assert_allclose(grid["x"], data()["x"].mean())


def test_at_subsets_levels_and_sets_covariates(fit):
    grid = reference_grid(fit, at={"f": ["b"], "x": [0.0, 5.0]})
    assert len(grid) == 4
    assert set(grid["f"]) == {"b"}
    assert sorted(set(grid["x"])) == [0.0, 5.0]


def test_the_grid_predicts_the_marginal_means(fit):
    grid = reference_grid(fit)
    means = fit.emmeans("f").table
    by_grid = pd.Series(fit.predict(grid, re_form="~0"), index=grid.index).groupby(grid["f"]).mean()
    np.testing.assert_allclose(np.asarray(means["emmean"], float), by_grid.to_numpy(), rtol=1e-10)
