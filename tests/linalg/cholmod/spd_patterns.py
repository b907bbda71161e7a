"""Shared helpers of the CHOLMOD binding tests: random sparse positive definite matrices."""

from __future__ import annotations

import numpy as np


def random_sparse_spd(n: int, density: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mask = np.tril(rng.random((n, n)) < density, -1)
    a = np.where(mask, rng.normal(size=(n, n)), 0.0)
    a = a + a.T
    return a + np.diag(np.abs(a).sum(axis=1) + 1.0)  # diagonally dominant: positive definite


def lower_pattern(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cols, rows = np.nonzero(np.tril(a).T)  # column by column, rows ascending
    return rows, cols
