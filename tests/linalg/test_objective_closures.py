"""The model's objective closures (the engine's hot path) against the plain objective.

The closures of ``LinearMixedModel._objective_function`` fill preallocated lambdas and call the
route bound at set-up; ``_scaled_objective`` builds every matrix afresh. Both must give the same
number to the last bit, and the convergence check evaluated on the tile pool the serial fit.
"""

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


def test_the_fused_closure_equals_the_plain_objective():
    model = mm.LinearMixedModel(
        "Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy")
    )
    objective = model._objective_function(True)
    assert model.workspace.fused
    rng = np.random.default_rng(3)
    for _ in range(20):
        x = np.abs(rng.normal(size=model.n_theta)) + 0.01
        assert objective(x) == model._scaled_objective(x, True)
    ml = model._objective_function(False)
    assert ml(x) == model._scaled_objective(x, False)


def assert_parallel_check_gives_the_serial_fit(formula, data, monkeypatch):
    """Fit with the convergence check's points evaluated two at a time, then one at a time:
    the same theta, objective and number of check evaluations, to the bit."""
    import numpy as np

    from mixedmodels.model import LinearMixedModel

    model = LinearMixedModel(formula, data)
    assert model._parallel_objective(True) is not None
    parallel = model.fit()
    monkeypatch.setattr(LinearMixedModel, "_parallel_objective", lambda self, *args: None)
    serial = LinearMixedModel(formula, data).fit()
    np.testing.assert_array_equal(parallel.theta, serial.theta)
    assert parallel.objective == serial.objective
    assert parallel.optsum.check_evaluations == serial.optsum.check_evaluations


def test_parallel_check_of_a_long_one_block_model_gives_the_serial_fit(monkeypatch):
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
