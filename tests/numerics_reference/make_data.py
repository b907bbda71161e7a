"""Write the data sets of the optimiser/precision reference fits (issue 13, items 3-6).

Run once from this directory (``python make_data.py``), then ``Rscript make_lme4.R`` to fit
them with lme4. The CSVs and ``problems.json`` are what both R and the tests read, so the
tests never depend on numpy's random streams. ``lme08.csv`` and ``lme09.csv`` are copies of
statsmodels' R-comparison data (statsmodels/regression/tests/results, BSD licence).

Families (one CSV each, a ``problem`` column telling the problems apart):

* ``slopes.csv``: the 20-row slope model of the issue (7 groups, intercept SD 3, slope SD 8,
  residual SD 0.01) and random small-n random-slope and rank-deficient three-dimensional
  fits that ended on a false boundary before the fix.
* ``precision.csv``: a response at 1e6 + ... (and the same minus 1e6), a covariate at
  1e4 + N(0, 1) with residual SD 0.01 (and its rows in another order).
* ``scale.csv``: variance components 1000 times the residual variance (40 groups), and a
  random slope on a covariate of scale 1e-4 (theta about 1.5e7).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def slope20(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    groups, n = 7, 20
    g = np.concatenate([np.arange(groups), rng.integers(0, groups, n - groups)])
    x = rng.normal(size=n)
    b = np.column_stack([3 * rng.normal(size=groups), 8 * rng.normal(size=groups)])
    y = 1 + 2 * x + b[g, 0] + b[g, 1] * x + 0.01 * rng.normal(size=n)
    return pd.DataFrame({"g": [f"g{k}" for k in g], "x1": x, "y": y})


def small_slope(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(1000 + seed)
    groups, n = int(rng.integers(4, 9)), int(rng.integers(16, 40))
    g = np.concatenate([np.arange(groups), rng.integers(0, groups, n - groups)])
    x = rng.normal(size=n) * rng.choice([1, 3])
    sd_i, sd_s = rng.choice([0.1, 1, 3]), rng.choice([0.1, 1, 8])
    rho = rng.uniform(-0.9, 0.9)
    cov = np.array([[sd_i**2, rho * sd_i * sd_s], [rho * sd_i * sd_s, sd_s**2]])
    b = rng.normal(size=(groups, 2)) @ np.linalg.cholesky(cov).T
    sigma = rng.choice([0.01, 0.3, 1])
    y = 1 + 2 * x + b[g, 0] + b[g, 1] * x + sigma * rng.normal(size=n)
    return pd.DataFrame({"g": [f"g{k}" for k in g], "x1": x, "y": y})


def rank_deficient(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(2000 + seed)
    groups, per = int(rng.integers(8, 30)), int(rng.integers(3, 10))
    g = np.repeat(np.arange(groups), per)
    n = g.size
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    rank = int(rng.integers(1, 3))
    loading = rng.normal(size=(3, rank)) * rng.choice([0.3, 1, 2])
    b = rng.normal(size=(groups, rank)) @ loading.T
    y = 1 + x1 - x2 + b[g, 0] + b[g, 1] * x1 + b[g, 2] * x2 + rng.normal(size=n)
    return pd.DataFrame({"g": [f"g{k}" for k in g], "x1": x1, "x2": x2, "y": y})


def big_mean() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    n, groups = 300, 20
    g = rng.integers(0, groups, n)
    x, b, e = rng.normal(size=n), rng.normal(size=groups), rng.normal(size=n)
    out = pd.DataFrame({"g": [f"g{k}" for k in g], "x": x, "y": 1e6 + 2 * x + b[g] + e})
    out["y0"] = out["y"] - 1e6  # exact: the same numbers shifted
    return out


def shifted_covariate() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n, groups = 300, 20
    g = rng.integers(0, groups, n)
    x = 1e4 + rng.normal(size=n)
    b = 0.05 * rng.normal(size=groups)
    y = 3 + 2 * x + b[g] + 0.01 * rng.normal(size=n)
    return pd.DataFrame({"g": [f"g{k}" for k in g], "x": x, "y": y})


def big_variance(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    groups, per = 40, 10
    g = np.repeat(np.arange(groups), per)
    x = rng.normal(size=g.size)
    b, s = 1000 * rng.normal(size=groups), 1000 * rng.normal(size=groups)
    e = rng.normal(size=g.size)
    return pd.DataFrame(
        {
            "g": [f"g{k}" for k in g],
            "x": x,
            "y": 1 + 2 * x + b[g] + e,
            "y2": 1 + 2 * x + b[g] + s[g] * x + e,
        }
    )


def big_theta(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(200 + seed)
    groups, per = 30, 12
    g = np.repeat(np.arange(groups), per)
    x = 1e-4 * rng.normal(size=g.size)
    b, s = rng.normal(size=groups), 1.5e7 * rng.normal(size=groups)
    y = 1 + 2e7 * x + b[g] + s[g] * x + rng.normal(size=g.size)
    return pd.DataFrame({"g": [f"g{k}" for k in g], "x": x, "y": y})


# small-n slope and rank-deficient fits that ended on a false boundary before the fix
TRAPPED_SMALL = (4, 13)
TRAPPED_RANK = (9, 12, 15, 25, 26, 38, 42, 55, 58, 60, 61)
# and fits that the fix first got wrong while it was being made (kept as checks)
HARD_SMALL = (16, 29)


def main() -> None:
    problems = []  # (id, file, data set in the file, formula, REML)
    frames = []
    for seed in (140, 110):
        key = f"slope20-{seed}"
        frames.append(slope20(seed).assign(problem=key))
        problems.append((key, "slopes.csv", key, "y ~ x1 + (1 + x1 | g)", True))
    for seed in TRAPPED_SMALL + HARD_SMALL:
        key = f"small-{seed}"
        frames.append(small_slope(seed).assign(problem=key))
        problems.append((key, "slopes.csv", key, "y ~ x1 + (1 + x1 | g)", True))
    for seed in TRAPPED_RANK:
        key = f"rank-{seed}"
        frames.append(rank_deficient(seed).assign(problem=key))
        problems.append((key, "slopes.csv", key, "y ~ x1 + x2 + (1 + x1 + x2 | g)", True))
    pd.concat(frames).to_csv(HERE / "slopes.csv", index=False, float_format="%.17g")

    frames = [big_mean().assign(problem="bigmean")]
    problems += [
        ("bigmean", "precision.csv", "bigmean", "y ~ x + (1 | g)", False),
        ("bigmean-minus", "precision.csv", "bigmean", "y0 ~ x + (1 | g)", False),
    ]
    shifted = shifted_covariate()
    frames.append(shifted.assign(problem="shifted"))
    frames.append(shifted.sample(frac=1.0, random_state=1).assign(problem="shifted-rows"))
    for key in ("shifted", "shifted-rows"):
        problems.append((key, "precision.csv", key, "y ~ x + (1 | g)", False))
        problems.append((f"{key}-slope", "precision.csv", key, "y ~ x + (1 + x | g)", False))
    pd.concat(frames).to_csv(HERE / "precision.csv", index=False, float_format="%.17g")

    frames = []
    for seed in range(6):
        key = f"bigvar-{seed}"
        frames.append(big_variance(seed).assign(problem=key))
        problems.append((key, "scale.csv", key, "y ~ x + (1 | g)", True))
        problems.append((f"{key}-slope", "scale.csv", key, "y2 ~ x + (1 + x | g)", True))
    for seed in range(3):
        key = f"bigtheta-{seed}"
        frames.append(big_theta(seed).assign(problem=key))
        problems.append((key, "scale.csv", key, "y ~ x + (0 + x | g)", True))
        problems.append((f"{key}-corr", "scale.csv", key, "y ~ x + (1 + x | g)", True))
    pd.concat(frames).to_csv(HERE / "scale.csv", index=False, float_format="%.17g")

    fixed = "endog ~ 0 + exog_fe_0 + exog_fe_1"
    for name in ("lme08", "lme09"):
        for reml in (True, False):
            tag = f"{name}-{'reml' if reml else 'ml'}"
            together = f"{fixed} + (0 + exog_re_0 + exog_re_1 | groups)"
            apart = f"{fixed} + (0 + exog_re_0 | groups) + (0 + exog_re_1 | groups)"
            problems.append((tag, f"{name}.csv", None, together, reml))
            problems.append((f"{tag}-indep", f"{name}.csv", None, apart, reml))
    manifest = [
        {"id": i, "file": f, "problem": key, "formula": formula, "REML": bool(reml)}
        for i, f, key, formula, reml in problems
    ]
    (HERE / "problems.json").write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    main()
