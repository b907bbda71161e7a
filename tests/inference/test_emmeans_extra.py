"""emmeans' consec / eff / poly contrasts, the mvt adjustment, estimability of rank-deficient
designs and regrid() on glmer fits, against emmeans 1.8.4-1 (make_emmeans_extra.R).

At lme4's theta (oats) or with lme4's estimates on our design (cbpp), every column agrees to
rounding except what mvtnorm integrates by randomised quasi-Monte Carlo (emmeans' default
``abseps = 1e-3``): mvt p-values are compared to 1e-3 and mvt critical values to 0.5%
(R's own critical values of three identical families here spread by 0.2%); ours are checked
against the exact studentized range where mvt and Tukey coincide.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

import mixedmodels as mm
from mixedmodels.errors import InferenceError
from mixedmodels.inference._mvt import coverage, emmeans_df, quantile
from mixedmodels.inference._tukey import ptukey, qtukey
from mixedmodels.inference.emmeans import emmeans

from ._postfit import REFERENCE, as_level, result_at

R = json.loads((REFERENCE / "emmeans_extra.json").read_text())
FORMULA = "yield ~ nitro * Variety + (1 | Block/Variety)"
LABELS = ("contrast", "nitro", "Variety", "period")
MVT_COLUMNS = ("p.value", "lower.CL", "upper.CL", "asymp.LCL", "asymp.UCL")


@cache
def _oats(missing: bool = False):
    data = mm.datasets.load("oats")
    for column in ("Block", "Variety", "nitro"):
        data[column] = data[column].astype("category")
    key = "oats"
    if missing:  # the cell nitro 0.6 x Victory empty: a rank-deficient fixed design
        data = data[~((data["nitro"] == 0.6) & (data["Variety"] == "Victory"))].copy()
        key = "oats_missing"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = mm.LinearMixedModel(FORMULA, data)
    return result_at(model, R[key]["theta"])


@dataclass(frozen=True)
class _AtRsEstimates:
    design: object
    fixef: pd.Series
    vcov: pd.DataFrame
    family: object
    reml: bool = False


@cache
def _cbpp(link: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = mm.glmer(
            "cbind(incidence, size - incidence) ~ period + (1 | herd)",
            mm.datasets.load("cbpp"),
            family="binomial",
            link=link,
        )
    ref = R["cbpp"][link]
    names = list(fit.fixef.index)
    fixef = pd.Series(list(ref["fixef"].values()), index=names)
    vcov = pd.DataFrame(np.asarray(ref["vcov"]), index=names, columns=names)
    return _AtRsEstimates(fit.design, fixef, vcov, fit.family)


def _compare(got: pd.DataFrame, rows: list[dict], mvt: bool = False, rtol: float = 1e-8):
    want = pd.DataFrame(rows)
    assert len(got) == len(want)
    for column in want.columns:
        if column in LABELS:
            assert [as_level(v) for v in got[column]] == [as_level(v) for v in want[column]]
            continue
        w = want[column].astype(float).to_numpy()
        g = got[column].to_numpy(dtype=float)
        if column == "df":
            g = np.where(np.isinf(g), np.nan, g)  # R's JSON writes Inf as null
        np.testing.assert_array_equal(np.isnan(g), np.isnan(w), err_msg=column)
        m = ~np.isnan(w)
        if mvt and column == "p.value":
            np.testing.assert_allclose(g[m], w[m], atol=1e-3, err_msg=column)
        elif mvt and column in MVT_COLUMNS:
            value = "estimate" if "estimate" in want else want.columns[1]
            cv_got = np.abs(g[m] - got[value].to_numpy(dtype=float)[m]) / got["SE"][m]
            cv_want = np.abs(w[m] - want[value].to_numpy(dtype=float)[m]) / want["SE"][m]
            np.testing.assert_allclose(cv_got, cv_want, rtol=5e-3, err_msg=column)
        else:
            scale = np.maximum(1.0, np.abs(w[m]))
            assert np.max(np.abs(g[m] - w[m]) / scale, initial=0.0) < rtol, column


@pytest.mark.parametrize("method", ["eff", "poly"])
def test_eff_and_poly_contrasts(method):
    table = _oats().emmeans("nitro").contrast(method)
    assert table.adjust == {"eff": "fdr", "poly": "none"}[method]
    _compare(table.table, R["oats"][method])


def test_consec_contrasts_default_to_mvt():
    table = _oats().emmeans("nitro").contrast("consec")
    assert table.adjust == "mvt"
    assert table.adjust_applied == ("mvt", "mvt")
    _compare(table.table, R["oats"]["consec"], mvt=True)
    assert "P value adjustment: mvt method for 3 tests" in str(table.report)


def test_consec_with_another_adjustment_is_exact():
    _compare(
        _oats().emmeans("nitro").contrast("consec", adjust="sidak").table,
        R["oats"]["consec_sidak"],
    )


def test_consec_by_groups():
    table = _oats().emmeans("nitro", by="Variety").contrast("consec")
    _compare(table.table, R["oats"]["consec_by"], mvt=True)


def test_mvt_of_pairwise_comparisons_is_tukey():
    """For pairwise comparisons of means with equal variances and correlations the mvt
    adjustment is the studentized range, which is exact."""
    grid = _oats().emmeans("nitro")
    mvt = grid.pairs(adjust="mvt").table
    tukey = grid.pairs().table
    np.testing.assert_allclose(mvt["p.value"], tukey["p.value"], atol=1e-4)
    np.testing.assert_allclose(mvt["lower.CL"], tukey["lower.CL"], rtol=1e-4)
    _compare(mvt, R["oats"]["pairs_mvt"], mvt=True)


def test_mvt_adjusted_means():
    _compare(_oats().emmeans("nitro").summary(adjust="mvt"), R["oats"]["means_mvt"], mvt=True)


def test_rectangle_probabilities():
    k = 5
    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    C = np.zeros((len(pairs), k))
    for row, (i, j) in enumerate(pairs):
        C[row, i], C[row, j] = 1.0, -1.0
    corr = C @ C.T / 2.0  # singular: 10 contrasts of 5 means
    for c, df in [(1.5, 7.0), (2.8, 30.0), (3.2, np.inf)]:
        exact = float(ptukey(np.sqrt(2.0) * c, k, df))
        assert coverage(c, corr, df) == pytest.approx(exact, abs=1e-4)
    assert quantile(0.95, corr, 12.0) == pytest.approx(
        qtukey(0.95, k, 12.0) / np.sqrt(2.0), rel=1e-4
    )
    # independent coordinates: a product of univariate probabilities
    assert coverage(2.0, np.eye(3), np.inf) == pytest.approx(
        (2 * stats.norm.cdf(2.0) - 1) ** 3, abs=1e-5
    )

    # the t: independent normals over one shared scale s (s^2 ~ chi^2_5 / 5), unequal bounds
    def given_scale(v):
        s = np.sqrt(v / 5.0)
        return (2 * stats.norm.cdf(s) - 1) * (2 * stats.norm.cdf(2.0 * s) - 1)

    exact = integrate.quad(lambda v: given_scale(v) * stats.chi2.pdf(v, 5), 0, np.inf)[0]
    assert coverage([1.0, 2.0], np.eye(2), 5.0) == pytest.approx(exact, abs=1e-4)
    assert [emmeans_df(d) for d in (0.5, 6.79, 6.74, np.inf, 2e4)] == [
        1.0,
        7.0,
        6.0,
        np.inf,
        np.inf,
    ]


NONEST = ["nitro_by_variety", "nitro", "variety", "pairs_by_variety", "consec_by_variety"]


@pytest.mark.parametrize("key", NONEST)
def test_rank_deficient_design_reports_non_estimable_means_as_nan(key):
    fit = _oats(missing=True)
    assert fit.design.dropped_names == ("nitro0.6:VarietyVictory",)
    by_variety = fit.emmeans("nitro", by="Variety")
    got = {
        "nitro_by_variety": lambda: by_variety.table,
        "nitro": lambda: fit.emmeans("nitro").table,
        "variety": lambda: fit.emmeans("Variety").table,
        "pairs_by_variety": lambda: by_variety.pairs(adjust="none").table,
        "consec_by_variety": lambda: by_variety.contrast("consec", adjust="none").table,
    }[key]()
    _compare(got, R["oats_missing"][key])


def test_adjustments_leave_out_non_estimable_rows():
    """Tukey as emmeans; mvt and fdr on the estimable rows of a family (emmeans' mvt gives NA
    for a whole family with a non-estimable row; p.adjust counts them in n, as here)."""
    grid = _oats(missing=True).emmeans("nitro", by="Variety")
    tukey = grid.pairs().table
    victory = tukey[tukey["Variety"] == "Victory"]
    assert victory["p.value"].isna().sum() == 3
    consec = grid.contrast("consec").table
    last = consec[consec["Variety"] == "Victory"]
    assert last["p.value"].isna().tolist() == [False, False, True]
    holm = grid.contrast("consec", adjust="holm").table
    raw = grid.contrast("consec", adjust="none").table
    rows = holm["Variety"] == "Victory"
    p = np.sort(raw.loc[rows, "p.value"].dropna().to_numpy())
    np.testing.assert_allclose(
        np.sort(holm.loc[rows, "p.value"].dropna()), np.maximum.accumulate([3 * p[0], 2 * p[1]])
    )


@pytest.mark.parametrize("link", ["logit", "probit"])
@pytest.mark.parametrize(
    "key", ["regrid", "regrid_pairs", "regrid_consec", "regrid_eff", "consec", "pairs_response"]
)
def test_glmm_regrid_and_response_scale(link, key):
    grid = emmeans(_cbpp(link), "period")
    regridded = grid.regrid()
    got = {
        "regrid": lambda: regridded.table,
        "regrid_pairs": lambda: regridded.pairs().table,
        "regrid_consec": lambda: regridded.contrast("consec").table,
        "regrid_eff": lambda: regridded.contrast("eff").table,
        "consec": lambda: grid.contrast("consec").table,
        # logit: odds ratios; probit: still on the probit scale, as emmeans
        "pairs_response": lambda: grid.pairs().summary(type="response"),
    }[key]()
    _compare(got, R["cbpp"][link][key], mvt=key in ("regrid_consec", "consec"))


def test_regrid_needs_a_link_and_is_idempotent():
    penicillin = mm.lmer("diameter ~ sample + (1 | plate)", mm.datasets.load("penicillin"))
    with pytest.raises(InferenceError, match="link function"):
        penicillin.emmeans("sample").regrid()
    grid = emmeans(_cbpp("logit"), "period").regrid()
    assert grid.regrid() is grid
    assert grid.summary(type="response").equals(grid.table)


def test_unknown_contrast_family():
    with pytest.raises(InferenceError, match="'consec', 'eff'"):
        _oats().emmeans("nitro").contrast("helmert")
