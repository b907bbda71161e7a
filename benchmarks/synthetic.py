"""Seeded synthetic data sets for the benchmarks (never used by the tests)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def _skewed_counts(rng, levels: int, total: int, minimum: int, shape: float) -> np.ndarray:
    """Positive counts summing to ``total`` with a long right tail (log-normal weights)."""
    weights = rng.lognormal(0.0, shape, levels)
    extra = total - minimum * levels
    counts = minimum + np.floor(weights / weights.sum() * extra).astype(np.int64)
    short = total - counts.sum()
    np.add.at(counts, rng.choice(levels, short, replace=True, p=weights / weights.sum()), 1)
    return counts


def movielens_like(
    seed: int = 20240601, users: int = 6040, movies: int = 3706, rows: int = 1_000_209
) -> pd.DataFrame:
    """A MovieLens-1M-shaped crossed design: skewed ratings per user and per movie.

    Every user has at least 20 ratings (as in MovieLens-1M); movie popularity is log-normal.
    ``rating = 3.6 + user effect (sd 0.45) + movie effect (sd 0.5) + noise (sd 0.9)``,
    rounded and clipped to 1..5. A user may rate a movie more than once here (rare).
    """
    rng = np.random.default_rng(seed)
    per_user = _skewed_counts(rng, users, rows, 20, 1.0)
    popularity = rng.lognormal(0.0, 1.4, movies)
    user = np.repeat(np.arange(users), per_user)
    movie = rng.choice(movies, rows, p=popularity / popularity.sum())
    value = (
        3.6
        + rng.normal(0, 0.45, users)[user]
        + rng.normal(0, 0.5, movies)[movie]
        + rng.normal(0, 0.9, rows)
    )
    rating = np.clip(np.rint(value), 1, 5)
    return pd.DataFrame(
        {
            "rating": rating,
            "user": pd.Categorical(user),
            "movie": pd.Categorical(movie),
        }
    )


def one_factor(levels: int, rows: int, seed: int = 1) -> pd.DataFrame:
    """``y ~ x + (1|g)``: one grouping factor, every level used, skewed sizes."""
    rng = np.random.default_rng(seed)
    counts = _skewed_counts(rng, levels, rows, 1, 0.8)
    g = np.repeat(np.arange(levels), counts)
    x = rng.normal(size=rows)
    y = 1.0 + 0.5 * x + rng.normal(0, 0.7, levels)[g] + rng.normal(size=rows)
    return pd.DataFrame({"y": y, "x": x, "g": pd.Categorical(g)})


def crossed(levels1: int, levels2: int, rows: int, seed: int = 2) -> pd.DataFrame:
    """``y ~ x + (1|a) + (1|b)``: two crossed factors, random incidence."""
    rng = np.random.default_rng(seed)
    a = np.concatenate([np.arange(levels1), rng.integers(0, levels1, rows - levels1)])
    b = np.concatenate(
        [
            rng.permutation(np.resize(np.arange(levels2), levels1)),
            rng.integers(0, levels2, rows - levels1),
        ]
    )
    x = rng.normal(size=rows)
    y = (
        1.0
        + 0.5 * x
        + rng.normal(0, 0.6, levels1)[a]
        + rng.normal(0, 0.4, levels2)[b]
        + rng.normal(size=rows)
    )
    return pd.DataFrame({"y": y, "x": x, "a": pd.Categorical(a), "b": pd.Categorical(b)})


def slopes3(levels: int, rows: int, seed: int = 3) -> pd.DataFrame:
    """``y ~ x1 + x2 + (1 + x1 + x2 | g)``: 3-dimensional correlated random effects."""
    rng = np.random.default_rng(seed)
    counts = _skewed_counts(rng, levels, rows, 3, 0.6)
    g = np.repeat(np.arange(levels), counts)
    x1, x2 = rng.normal(size=rows), rng.normal(size=rows)
    cov = np.array([[1.0, 0.3, -0.2], [0.3, 0.5, 0.1], [-0.2, 0.1, 0.3]])
    b = rng.multivariate_normal(np.zeros(3), cov, levels)
    y = 1.0 + 0.5 * x1 - 0.3 * x2 + b[g, 0] + b[g, 1] * x1 + b[g, 2] * x2 + rng.normal(size=rows)
    return pd.DataFrame({"y": y, "x1": x1, "x2": x2, "g": pd.Categorical(g)})
