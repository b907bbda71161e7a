"""Simulation moments and bootstrap reproducibility."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.errors import InferenceError
from mixedmodels.inference.bootstrap import bootstrap, simulate

from ._helpers import fit_reference

NSIM = 4000


def _marginal_covariance(fit) -> np.ndarray:
    """Dense V = Z Sigma Z' + sigma^2 W^-1 (an independent computation for small data)."""
    design = fit.design
    n = design.n
    V = np.zeros((n, n))
    for block, lam in zip(design.blocks, fit.model.lambdas(fit.theta), strict=True):
        cov = fit.sigma**2 * lam @ lam.T
        same = block.codes[:, None] == block.codes[None, :]
        V += same * (block.matrix @ cov @ block.matrix.T)
    weights = np.ones(n) if design.weights is None else design.weights
    return V + np.diag(fit.sigma**2 / weights)


def _check_moments(fit, sims: np.ndarray) -> None:
    mean = fit.design.X @ fit.fixef.to_numpy()
    V = _marginal_covariance(fit)
    nsim = sims.shape[1]
    # sample means: z-scores of all n rows below 4.5 (a fixed seed; fails on a wrong mean)
    z = (sims.mean(axis=1) - mean) / np.sqrt(np.diag(V) / nsim)
    assert np.max(np.abs(z)) < 4.5
    # sample covariances: standard error sqrt((V_ii V_jj + V_ij^2) / nsim) per entry
    S = np.cov(sims)
    se = np.sqrt((np.outer(np.diag(V), np.diag(V)) + V**2) / nsim)
    assert np.max(np.abs(S - V) / se) < 5.5
    # and on average no bias at all: the mean standardized deviation is near 0
    assert abs(np.mean((S - V) / se)) < 0.5


def test_simulate_moments_match_fitted_variances():
    fit = fit_reference("sleepstudy_rs")
    sims = simulate(fit, nsim=NSIM, seed=12345)
    assert sims.shape == (fit.nobs, NSIM)
    _check_moments(fit, sims)


def test_simulate_respects_weights():
    data = mm.datasets.load("sleepstudy")
    data["w"] = 1.0 + data["Days"]
    fit = mm.lmer("Reaction ~ Days + (1 | Subject)", data, weights="w")
    _check_moments(fit, fit.simulate(nsim=NSIM, seed=7))


def test_simulate_is_reproducible():
    fit = fit_reference("dyestuff")
    np.testing.assert_array_equal(simulate(fit, 3, seed=1), simulate(fit, 3, seed=1))
    assert not np.array_equal(simulate(fit, 3, seed=1), simulate(fit, 3, seed=2))
    with pytest.raises(InferenceError):
        simulate(fit, 0)


def _max_abs(result) -> float:
    return float(np.max(np.abs(result.fixef.to_numpy())))


@pytest.fixture(scope="module")
def boot_serial() -> pd.DataFrame:
    return bootstrap(
        fit_reference("sleepstudy_rs"), n=30, seed=99, n_jobs=1, progress=False, statistics=_max_abs
    )


def test_bootstrap_same_for_any_number_of_jobs(boot_serial):
    parallel = bootstrap(
        fit_reference("sleepstudy_rs"), n=30, seed=99, n_jobs=2, progress=False, statistics=_max_abs
    )
    pd.testing.assert_frame_equal(boot_serial, parallel)


def test_bootstrap_table(boot_serial):
    fit = fit_reference("sleepstudy_rs")
    assert boot_serial.index.name == "replicate"
    assert list(boot_serial.columns) == [
        "Subject.(Intercept)",
        "Subject.Days.(Intercept)",
        "Subject.Days",
        "sd_(Intercept)|Subject",
        "cor_Days.(Intercept)|Subject",
        "sd_Days|Subject",
        "sigma",
        "(Intercept)",
        "Days",
        "objective",
        "statistic",
    ]
    assert len(boot_serial) == 30
    assert boot_serial.notna().all().all()
    # each replicate is a refit: its theta minimises its own objective, different per replicate
    assert boot_serial["objective"].nunique() == 30
    # replicate 0 refitted by hand from the same simulated response
    child = np.random.SeedSequence(99).spawn(1)[0]
    y = simulate(fit, 1, seed=np.random.default_rng(child))[:, 0]
    refit = fit.model.refit(y, start=fit.theta, control={"check_convergence": False})
    np.testing.assert_allclose(boot_serial.loc[0, "Days"], refit.fixef["Days"], rtol=1e-10)
    np.testing.assert_allclose(boot_serial.loc[0, "sigma"], refit.sigma, rtol=1e-10)
    np.testing.assert_allclose(boot_serial.loc[0, "statistic"], _max_abs(refit), rtol=1e-10)
    # the bootstrap distribution is centred near the estimates (30 replicates: loose)
    se = fit.se
    for name in ("(Intercept)", "Days"):
        assert abs(boot_serial[name].mean() - fit.fixef[name]) < 4 * se[name] / np.sqrt(30)


def test_bootstrap_bad_inputs():
    fit = fit_reference("dyestuff")
    with pytest.raises(InferenceError):
        bootstrap(fit, n=0)
    with pytest.raises(InferenceError):
        bootstrap(fit, n=2, n_jobs=0)


def test_bootstrap_of_a_singular_fit():
    # Dyestuff2's batch SD is estimated as 0: refits start on the bound, where BOBYQA may
    # give up at once; every replicate must still be refitted, some of them singular too
    fit = fit_reference("dyestuff2")
    boot = bootstrap(fit, n=20, seed=5, progress=False)
    assert boot.notna().all().all()
    assert (boot["Batch.(Intercept)"] >= 0).all()
    assert (boot["Batch.(Intercept)"] == 0).any()
    assert (boot["Batch.(Intercept)"] > 0).any()
