"""emmeans on a glmer fit (cbpp, binomial): z tests, link and response scales, odds ratios.

R's fixed effects and covariance are put on our fit's design, so the comparison is of the
marginal-mean computations alone (make_emmeans_glmm.R; emmeans 1.8.4-1, lme4 1.1-31): any
object with the result interface (design, fixef, vcov, family) works.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.errors import InferenceError
from mixedmodels.inference.emmeans import emmeans

from ._postfit import REFERENCE

R = json.loads((REFERENCE / "emmeans_glmm_cbpp.json").read_text())


@dataclass(frozen=True)
class _AtRsEstimates:
    """A glmer fit with lme4's fixed effects and covariance."""

    design: object
    fixef: pd.Series
    vcov: pd.DataFrame
    family: object
    reml: bool = False


@cache
def _fit():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = mm.glmer(R["formula"], mm.datasets.load("cbpp"), family="binomial")
    names = list(fit.fixef.index)
    assert names == list(R["fixef"])
    fixef = pd.Series(list(R["fixef"].values()), index=names)
    vcov = pd.DataFrame(np.asarray(R["vcov"]), index=names, columns=names)
    return _AtRsEstimates(fit.design, fixef, vcov, fit.family), fit


def _compare(got: pd.DataFrame, rows: list[dict]):
    want = pd.DataFrame(rows)
    for column in want.columns:
        if column in ("period", "contrast"):
            assert [str(v) for v in got[column]] == list(want[column])
        elif column == "df":
            assert np.all(np.isinf(got["df"]))
        else:
            np.testing.assert_allclose(got[column], want[column], rtol=1e-6, err_msg=column)


@pytest.mark.parametrize("scale", ["link", "response"])
def test_means_match_emmeans(scale):
    grid = emmeans(_fit()[0], "period")
    assert grid.inference.method == "asymptotic"
    _compare(grid.summary(type=scale), R[f"emmeans_{scale}"])


@pytest.mark.parametrize("scale", ["link", "response"])
def test_pairs_match_emmeans(scale):
    _compare(emmeans(_fit()[0], "period").pairs().summary(type=scale), R[f"pairs_{scale}"])


def test_a_glmer_fit_itself_gets_z_tests():
    fit = _fit()[1]
    table = fit.emmeans("period").table
    assert {"asymp.LCL", "asymp.UCL", "z.ratio"} <= set(table.columns)
    with pytest.raises(InferenceError, match="only defined for linear mixed models"):
        emmeans(fit, "period", ddf="Kenward-Roger")


def test_response_scale_needs_a_link():
    grid = emmeans(
        mm.lmer("diameter ~ sample + (1 | plate)", mm.datasets.load("penicillin")), "sample"
    )
    with pytest.raises(InferenceError, match="link function"):
        grid.summary(type="response")
    with pytest.raises(InferenceError, match="type must be"):
        grid.summary(type="probability")


def test_tidy_fixed_of_a_glmer_fit_matches_broom_mixed():
    from mixedmodels.summaries import tidy

    table = tidy(_fit()[0], "fixed", conf_int=True)
    want = pd.DataFrame(R["tidy_fixed"])
    assert list(table.columns) == list(want.columns)
    assert list(table["term"]) == list(want["term"])
    for column in ("estimate", "std.error", "statistic", "p.value", "conf.low", "conf.high"):
        np.testing.assert_allclose(table[column], want[column], rtol=1e-9, err_msg=column)


@pytest.mark.parametrize("kind", [2, 3])
def test_car_anova_of_a_glmer_fit(kind):
    from mixedmodels.inference.anova_tables import car_anova

    table = car_anova(_fit()[0], type=kind)
    want = pd.DataFrame(R[f"car_type{kind}"])
    np.testing.assert_allclose(table["Chisq"], want["Chisq"], rtol=1e-9)
    np.testing.assert_allclose(table["Pr(>Chisq)"], want["Pr(>Chisq)"], rtol=1e-9)
    assert list(table["Df"]) == list(want["Df"])


def test_glance_and_ran_pars_of_a_glmer_fit_at_our_optimum():
    """Our own glmer optimum (its -2 log L is 6e-4 below lme4's here): close, not equal."""
    from mixedmodels.summaries import glance, tidy

    fit = _fit()[1]
    row = fit.glance()
    assert row.equals(glance(fit))
    assert list(row.columns) == list(R["glance"])
    for key in ("nobs", "sigma", "df.residual"):
        assert row[key].iloc[0] == R["glance"][key]
    for key in ("logLik", "AIC", "BIC", "deviance"):
        assert row[key].iloc[0] == pytest.approx(R["glance"][key], rel=1e-4)
    pars = fit.tidy("ran_pars")
    assert pars.equals(tidy(fit, "ran_pars"))
    assert list(pars["term"]) == [r["term"] for r in R["tidy_ran_pars"]]
    assert pars["estimate"].iloc[0] == pytest.approx(R["tidy_ran_pars"][0]["estimate"], rel=1e-3)
