"""coef_table and contrast_test: lmerTest's summary table and contestMD."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import load_reference, reference_data, reference_fit
from scipy import stats

import mixedmodels as mm
from mixedmodels.errors import InferenceError
from mixedmodels.inference.tests import coef_table, contrast_test, validate_ddf

COLUMNS = ["Estimate", "Std. Error", "df", "t value", "Pr(>|t|)"]
F_COLUMNS = ["Sum Sq", "Mean Sq", "NumDF", "DenDF", "F value", "Pr(>F)"]


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("Satterthwaite", "Satterthwaite"),
        ("satterthwaite", "Satterthwaite"),
        ("SATTERTHWAITE", "Satterthwaite"),
        ("Kenward-Roger", "Kenward-Roger"),
        ("kenward-roger", "Kenward-Roger"),
        ("KR", "Kenward-Roger"),
        ("kr", "Kenward-Roger"),
    ],
)
def test_ddf_aliases(given, canonical):
    assert validate_ddf(given) == canonical


@pytest.mark.parametrize("bad", ["lme4", "", None, 3])
def test_unknown_ddf_is_refused(bad):
    with pytest.raises(InferenceError, match="unknown ddf"):
        validate_ddf(bad)


def test_satterthwaite_table_matches_lmertest():
    ref = load_reference("sleepstudy_zc")
    fit, _ = reference_fit("sleepstudy_zc")
    table = coef_table(fit, "satterthwaite")
    assert list(table.columns) == COLUMNS
    assert list(table.index) == list(ref["fixef"])
    np.testing.assert_allclose(table["Estimate"], list(ref["fixef"].values()), rtol=1e-5)
    np.testing.assert_allclose(table["Std. Error"], list(ref["se"].values()), rtol=1e-4)
    np.testing.assert_allclose(table["df"], list(ref["satterthwaite_df"].values()), rtol=1e-3)
    np.testing.assert_allclose(table["Pr(>|t|)"], list(ref["satterthwaite_p"].values()), rtol=1e-3)


def test_kenward_roger_table_uses_the_adjusted_standard_errors():
    ref = load_reference("sleepstudy_zc")
    fit, _ = reference_fit("sleepstudy_zc")
    table = coef_table(fit, "KR")
    se = np.sqrt(np.diag(ref["kenward_roger_vcov"]))
    np.testing.assert_allclose(table["Std. Error"], se, rtol=1e-4)
    np.testing.assert_allclose(table["df"], list(ref["kenward_roger_df"].values()), rtol=1e-3)
    t = table["Estimate"] / table["Std. Error"]
    np.testing.assert_allclose(table["t value"], t, rtol=1e-12)
    np.testing.assert_allclose(table["Pr(>|t|)"], 2 * stats.t.sf(np.abs(t), table["df"]))


@pytest.mark.parametrize("ddf", ["Satterthwaite", "Kenward-Roger"])
def test_one_row_contrast_is_the_t_test(ddf):
    fit, _ = reference_fit("dietox_rs")
    table = coef_table(fit, ddf)
    res = contrast_test(fit, [0, 1], ddf=ddf)
    assert list(res.columns) == F_COLUMNS
    assert res["NumDF"].iloc[0] == 1
    assert res["DenDF"].iloc[0] == pytest.approx(table.loc["Time", "df"], rel=1e-10)
    if ddf == "Satterthwaite":
        assert res["F value"].iloc[0] == pytest.approx(table.loc["Time", "t value"] ** 2)
        assert res["Pr(>F)"].iloc[0] == pytest.approx(table.loc["Time", "Pr(>|t|)"], rel=1e-8)
    mean_sq = res["Mean Sq"].iloc[0]
    assert res["Sum Sq"].iloc[0] == pytest.approx(mean_sq)
    assert mean_sq == pytest.approx(table.loc["Time", "t value"] ** 2 * fit.sigma**2)


def test_labelled_contrasts_are_matched_by_name():
    fit, _ = reference_fit("sleepstudy_rs")
    by_array = contrast_test(fit, [0.0, 1.0])
    by_series = contrast_test(fit, pd.Series({"Days": 1.0}))
    by_dict = fit.test({"Days": 1.0})
    by_frame = contrast_test(fit, pd.DataFrame([[1.0]], columns=["Days"]))
    for other in (by_series, by_dict, by_frame):
        pd.testing.assert_frame_equal(by_array, other)


def test_two_row_test_drops_dependent_rows():
    fit, _ = reference_fit("sleepstudy_rs")
    full = contrast_test(fit, np.eye(2))
    assert full["NumDF"].iloc[0] == 2
    dependent = contrast_test(fit, [[0, 1], [0, 2]])
    assert dependent["NumDF"].iloc[0] == 1


def test_wald_f_statistic_of_two_rows():
    fit, _ = reference_fit("sleepstudy_rs")
    beta, V = fit.fixef.to_numpy(), fit.vcov.to_numpy()
    res = contrast_test(fit, np.eye(2))
    assert res["F value"].iloc[0] == pytest.approx(beta @ np.linalg.solve(V, beta) / 2)


@pytest.mark.parametrize(
    ("L", "match"),
    [([1, 0, 0], "2 columns"), ({"Dayz": 1}, "unknown fixed effect"), ([[np.nan, 1]], "finite")],
)
def test_bad_contrasts_are_refused(L, match):
    fit, _ = reference_fit("sleepstudy_rs")
    with pytest.raises(InferenceError, match=match):
        contrast_test(fit, L)


def test_summary_with_ddf_shows_df_and_p_values():
    fit, _ = reference_fit("sleepstudy_rs")
    text = str(fit.summary(ddf="Satterthwaite"))
    assert "Pr(>|t|)" in text
    assert "Pr(>|t|)" not in str(fit.summary())


@pytest.mark.parametrize(
    ("ddf", "key"), [("Satterthwaite", "satterthwaite"), ("KR", "kenward_roger")]
)
def test_three_row_contrast_matches_contestmd(ddf, key):
    """lmerTest's contestMD on a dietox model (reference/lmertest_anova.R)."""
    path = Path(__file__).parent / "reference" / "lmertest_anova.json"
    ref = json.loads(path.read_text())["contrasts"]
    data = reference_data("dietox_ri")
    fit = mm.lmer("Weight ~ Evit * Cu + Time + (1|Pig)", data)
    got = contrast_test(fit, np.array(ref["L"], dtype=float), ddf=ddf).iloc[0]
    want = ref[key]
    assert got["NumDF"] == want["NumDF"]
    for column in ("Sum Sq", "Mean Sq", "DenDF", "F value", "Pr(>F)"):
        assert got[column] == pytest.approx(want[column], rel=1e-4), column
