"""Row quadratic forms through the blocked factor against the dense hat matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from gls_reference import Problem

import mixedmodels as mm
from mixedmodels.linalg import rows as rows_module
from mixedmodels.linalg.rows import RowBlock, row_quadratic

FORMULAS = [
    "y ~ x + (1|g)",
    "y ~ x + (1 + x|g)",
    "y ~ x + (1|g) + (1|h)",
    "y ~ x + (x||g) + (1 + z|h)",
    "y ~ 0 + x + (1 + x + z|g) + (0 + z|h)",
    "y ~ x * z + (1|g) + (1|h) + (1|k)",
]


def random_data(seed: int, n: int = 90) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g, h, k = rng.integers(0, 8, n), rng.integers(0, 5, n), rng.integers(0, 3, n)
    x, z = rng.normal(size=n) * 2 + 1, rng.uniform(-1, 3, n)
    y = 1 + 0.5 * x + rng.normal(size=8)[g] + rng.normal(size=5)[h] * 0.7 + rng.normal(size=n)
    return pd.DataFrame(
        {
            "y": y,
            "x": x,
            "z": z,
            "g": [f"g{v}" for v in g],
            "h": [f"h{v}" for v in h],
            "k": [f"k{v}" for v in k],
            "w": rng.uniform(0.5, 2.0, n),
        }
    )


def dense_hat(model, theta) -> np.ndarray:
    """``W^1/2 [Z Lambda, X] Omega^-1 [Z Lambda, X]' W^1/2`` formed densely."""
    design = model.design
    problem = Problem(
        blocks=[(b.codes, b.matrix, b.n_levels) for b in design.blocks],
        X=design.X,
        y=design.y,
        weights=design.weights,
    )
    ZL = problem.Z @ problem.big_lambda(model.lambdas(theta))
    s = np.ones(design.n) if design.weights is None else np.sqrt(design.weights)
    M = np.hstack([ZL, design.X]) * s[:, None]
    omega = M.T @ M
    omega[: ZL.shape[1], : ZL.shape[1]] += np.eye(ZL.shape[1])
    return M @ np.linalg.solve(omega, M.T)


@pytest.mark.parametrize("formula", FORMULAS)
@pytest.mark.parametrize("weighted", [False, True])
def test_row_quadratic_is_the_dense_hat_diagonal(formula, weighted):
    data = random_data(3)
    model = mm.LinearMixedModel(formula, data, weights="w" if weighted else None)
    rng = np.random.default_rng(7)
    theta = np.where(model.lower_bounds == 0, rng.uniform(0.3, 1.5, model.n_theta), 0.3)
    design = model.design
    blocks = [RowBlock(b.codes, b.matrix) for b in design.blocks]
    scale = None if design.weights is None else np.sqrt(design.weights)
    lams = model.lambdas(theta)
    got = row_quadratic(model.stats, model.factor(theta), lams, blocks, design.X, scale)
    np.testing.assert_allclose(got, np.diag(dense_hat(model, theta)), rtol=1e-9, atol=1e-12)


def test_chunks_give_the_same_values(monkeypatch):
    model = mm.LinearMixedModel("y ~ x + (1 + x|g) + (1|h)", random_data(5))
    theta = np.array([0.8, 0.2, 0.5, 0.9])
    design = model.design
    blocks = [RowBlock(b.codes, b.matrix) for b in design.blocks]
    args = (model.stats, model.factor(theta), model.lambdas(theta), blocks, design.X)
    whole = row_quadratic(*args)
    monkeypatch.setattr(rows_module, "CHUNK_ENTRIES", 7)
    np.testing.assert_allclose(row_quadratic(*args), whole, rtol=1e-12)


def test_unknown_levels_contribute_nothing():
    model = mm.LinearMixedModel("y ~ x + (1|g) + (1|h)", random_data(6))
    theta = np.array([0.7, 1.1])
    design = model.design
    X = design.X[:4]
    known = [RowBlock(b.codes[:4], b.matrix[:4]) for b in design.blocks]
    unknown = [RowBlock(np.full(4, -1), b.matrix[:4]) for b in design.blocks]
    args = (model.stats, model.factor(theta), model.lambdas(theta))
    fixed_only = row_quadratic(*args, unknown, X)
    # every level unknown: x' (X' V0^-1 X)^-1 x, the fixed part's variance over sigma^2
    V = design.X.T @ np.linalg.solve(
        np.eye(design.n) + _zl(model, theta) @ _zl(model, theta).T, design.X
    )
    np.testing.assert_allclose(fixed_only, np.einsum("na,na->n", X, np.linalg.solve(V, X.T).T))
    assert not np.allclose(row_quadratic(*args, known, X), fixed_only)


def _zl(model, theta):
    design = model.design
    problem = Problem(
        blocks=[(b.codes, b.matrix, b.n_levels) for b in design.blocks],
        X=design.X,
        y=design.y,
        weights=None,
    )
    return problem.Z @ problem.big_lambda(model.lambdas(theta))
