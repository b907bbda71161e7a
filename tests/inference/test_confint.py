"""Confidence intervals: Wald against lme4, bootstrap percentiles, option checking."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixedmodels.errors import InferenceError
from mixedmodels.inference.confint import confint

from ._helpers import PROFILED, fit_reference, reference


@pytest.mark.parametrize("name", PROFILED)
def test_wald_intervals_match_lme4(name):
    ref = reference(name)
    ci = confint(fit_reference(name), method="wald")
    # lme4 names the variance rows .sig01, ..., .sigma; ours carry the sd/cor names
    assert len(ci) == len(ref["wald_ci"])
    for (par, got), row in zip(ci.iterrows(), ref["wald_ci"], strict=True):
        if row["lower"] is None:
            assert np.isnan(got["lower"])
            assert np.isnan(got["upper"])
        else:
            assert par == row["par"]
            # the standard errors agree with lme4's to ~3e-5 (theta is only determined that
            # well along flat directions of the objective), the intervals to ~1e-6
            np.testing.assert_allclose(
                got[["lower", "upper"]], [row["lower"], row["upper"]], rtol=1e-5
            )
            np.testing.assert_allclose(
                got["upper"] - got["lower"], row["upper"] - row["lower"], rtol=1e-4
            )


def test_layout_and_level():
    fit = fit_reference("sleepstudy_rs")
    ci = fit.confint("Wald", level=0.9, which="beta_")
    assert list(ci.columns) == ["lower", "upper"]
    assert ci.index.name == "parameter"
    assert list(ci.index) == ["(Intercept)", "Days"]
    assert ci.attrs == {"level": 0.9, "method": "wald"}
    z = 1.6448536269514722
    np.testing.assert_allclose(ci["upper"] - ci["lower"], 2 * z * fit.se.to_numpy())


@pytest.mark.parametrize("level", [0, 1, 1.5, -0.1, "high", None])
def test_level_outside_unit_interval(level):
    with pytest.raises(InferenceError, match="level"):
        confint(fit_reference("dyestuff"), method="wald", level=level)


def test_unknown_method_and_options():
    fit = fit_reference("dyestuff")
    with pytest.raises(InferenceError, match="method"):
        confint(fit, method="bayes")
    with pytest.raises(InferenceError, match="option"):
        confint(fit, method="wald", n=10)
    with pytest.raises(InferenceError, match="option"):
        confint(fit, method="boot", nonsense=1)


def test_bootstrap_percentile_intervals():
    fit = fit_reference("sleepstudy_rs")
    ci = confint(fit, method="boot", n=100, seed=20240601, progress=False)
    assert list(ci.index)[:4] == [
        "sd_(Intercept)|Subject",
        "cor_Days.(Intercept)|Subject",
        "sd_Days|Subject",
        "sigma",
    ]
    assert (ci["lower"] < ci["upper"]).all()
    # with 100 replicates the percentile interval of a fixed effect is close to Wald's
    wald = confint(fit, method="wald", which="beta_")
    width = wald["upper"] - wald["lower"]
    np.testing.assert_allclose(ci.loc[wald.index, "lower"], wald["lower"], atol=0.25 * width.max())
    np.testing.assert_allclose(ci.loc[wald.index, "upper"], wald["upper"], atol=0.25 * width.max())
    # sigma's interval covers the estimate
    assert ci.loc["sigma", "lower"] < fit.sigma < ci.loc["sigma", "upper"]


def test_bootstrap_percentiles_use_boots_order_statistics():
    # with R = 999 replicates the 95 % percentile interval is (t_(25), t_(975)) and with
    # R = 39 it is (t_(1), t_(39)) (Davison & Hinkley 1997, sec. 5.3), as boot.ci(type="perc")
    fit = fit_reference("dyestuff")
    rng = np.random.default_rng(3)
    for R, (lo, hi) in ((999, (25, 975)), (39, (1, 39))):
        draws = rng.permutation(np.arange(1.0, R + 1.0))
        table = pd.DataFrame(
            {name: draws for name in ["sd_(Intercept)|Batch", "sigma", "(Intercept)"]}
        )
        ci = confint(fit, method="boot", boot=table)
        np.testing.assert_array_equal(ci["lower"], lo)
        np.testing.assert_array_equal(ci["upper"], hi)
    # a fractional order interpolates between its neighbours (R = 99: order 2.5)
    ci = confint(
        fit,
        method="boot",
        boot=pd.DataFrame(
            {n: np.arange(1.0, 100.0) for n in ["sd_(Intercept)|Batch", "sigma", "(Intercept)"]}
        ),
    )
    assert 2.0 < ci["lower"].iloc[0] < 3.0
    assert 97.0 < ci["upper"].iloc[0] < 98.0


def test_bootstrap_takes_lme4s_nsim_as_n():
    fit = fit_reference("sleepstudy_rs")
    by_nsim = confint(fit, method="boot", nsim=20, seed=7, progress=False)
    by_n = confint(fit, method="boot", n=20, seed=7, progress=False)
    pd.testing.assert_frame_equal(by_nsim, by_n)
    with pytest.raises(InferenceError, match="once"):
        confint(fit, method="boot", n=20, nsim=20, seed=7, progress=False)
