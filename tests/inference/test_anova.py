"""anova: lmerTest's per-term F tests and lme4's likelihood-ratio table."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import load_reference, reference_data, reference_fit
from scipy import stats

import mixedmodels as mm
from mixedmodels.errors import DesignError, InferenceError
from mixedmodels.inference.anova import REFIT_MESSAGE, AnovaTable, anova
from mixedmodels.inference.terms import term_columns, type3_contrasts
from mixedmodels.inference.tests import coef_table, contrast_test

F_COLUMNS = ["Sum Sq", "Mean Sq", "NumDF", "DenDF", "F value", "Pr(>F)"]
# lmerTest 3.1-3 / pbkrtest 0.5.2 / lme4 1.1-31 output, made by reference/lmertest_anova.R
R_OUTPUT = json.loads((Path(__file__).parent / "reference" / "lmertest_anova.json").read_text())
LRT_COLUMNS = ["npar", "AIC", "BIC", "logLik", "deviance", "Chisq", "Df", "Pr(>Chisq)"]


@pytest.mark.slow
def test_insteval_type3_table_matches_lmertest():
    ref = load_reference("insteval")
    fit, _ = reference_fit("insteval")
    table = anova(fit, type=3, ddf="Satterthwaite")
    assert isinstance(table, AnovaTable)
    assert list(table.table.columns) == F_COLUMNS
    assert list(table.index) == [row["term"] for row in ref["anova_satterthwaite"]]
    for row in ref["anova_satterthwaite"]:
        got = table.loc[row["term"]]
        assert got["NumDF"] == row["NumDF"]
        for column in ("Sum Sq", "Mean Sq", "DenDF", "F value", "Pr(>F)"):
            want = row[column]
            assert abs(got[column] - want) <= 1e-3 * abs(want), (row["term"], column)


@pytest.fixture(scope="module", params=[m["id"] for m in R_OUTPUT["models"]])
def interaction_model(request):
    """lmerTest's tables for dietox models with factor-factor and factor-covariate interactions."""
    model = next(m for m in R_OUTPUT["models"] if m["id"] == request.param)
    data = mm.datasets.load("dietox")
    data["Pig"] = data["Pig"].astype("category")
    return model, mm.lmer(model["formula"], data)


def _assert_rows_match(table, rows, rtol=1e-4):
    assert list(table.index) == [row["term"] for row in rows]
    for row in rows:
        got = table.loc[row["term"]]
        assert got["NumDF"] == row["NumDF"]
        for column in ("Sum Sq", "Mean Sq", "DenDF", "F value", "Pr(>F)"):
            want = row[column]
            if column == "Pr(>F)" and want == 0.0:  # R's underflow
                assert got[column] < 1e-300
            else:
                assert abs(got[column] - want) <= rtol * abs(want), (row["term"], column)


@pytest.mark.parametrize(
    ("key", "kind", "ddf"),
    [
        ("type3_satterthwaite", 3, "Satterthwaite"),
        ("type1_satterthwaite", 1, "Satterthwaite"),
        ("type3_kenward_roger", 3, "Kenward-Roger"),
    ],
)
def test_interaction_tables_match_lmertest(interaction_model, key, kind, ddf):
    model, fit = interaction_model
    assert list(fit.fixef.index) == list(model["fixef"])
    _assert_rows_match(anova(fit, type=kind, ddf=ddf).table, model[key])


def test_type3_contrasts_for_interactions_are_lmertests(interaction_model):
    model, fit = interaction_model
    contrasts = type3_contrasts(fit, term_columns(fit))
    assert list(contrasts) == list(model["type3_contrasts"])
    for name, want in model["type3_contrasts"].items():
        np.testing.assert_allclose(contrasts[name], np.atleast_2d(want), atol=1e-12)


@pytest.mark.parametrize("coding", ["contr.sum", "contr.helmert", "contr.poly"])
def test_type3_with_other_contrasts_equals_treatment_coding(coding):
    """lmerTest maps the treatment-coded type III contrasts to any coding (issue 13, item 9)."""
    data = mm.datasets.load("dietox")
    data["Pig"] = data["Pig"].astype("category")
    coded = mm.lmer(f"Weight ~ C(Evit, {coding}) * Cu + Time + (1|Pig)", data)
    plain = mm.lmer("Weight ~ Evit * Cu + Time + (1|Pig)", data)
    got, want = anova(coded).table, anova(plain).table
    assert list(got.index) == ["Evit", "Cu", "Time", "Evit:Cu"]
    for column in ("F value", "DenDF", "Pr(>F)"):
        np.testing.assert_allclose(got[column], want[column], rtol=1e-5)
    assert anova(coded, type=1).table.shape[0] == 4


def test_mm_anova_is_exported():
    assert mm.anova is anova


def test_one_term_model_types_agree_and_equal_the_t_test():
    fit, _ = reference_fit("sleepstudy_rs")
    three = anova(fit)
    one = anova(fit, type="I")
    assert list(three.index) == ["Days"]
    np.testing.assert_allclose(three.table.to_numpy(float), one.table.to_numpy(float))
    t = coef_table(fit).loc["Days"]
    assert three.loc["Days", "F value"] == pytest.approx(t["t value"] ** 2)
    assert three.loc["Days", "DenDF"] == pytest.approx(t["df"])
    assert three.loc["Days", "Pr(>F)"] == pytest.approx(t["Pr(>|t|)"])


@pytest.fixture(scope="module")
def two_factor_fit():
    """Two categorical terms and a covariate: several columns per term, correlated columns."""
    data = reference_data("insteval").iloc[:3000].copy()
    data["x"] = np.sin(np.arange(len(data)))
    return mm.lmer("y ~ x + studage + lectage + (1|d)", data)


@pytest.mark.parametrize("ddf", ["Satterthwaite", "Kenward-Roger"])
def test_type3_term_is_the_joint_test_of_its_columns(two_factor_fit, ddf):
    fit = two_factor_fit
    table = anova(fit, ddf=ddf)
    assert list(table.index) == ["x", "studage", "lectage"]
    names = list(fit.fixef.index)
    columns = [i for i, n in enumerate(names) if n.startswith("lectage")]
    L = np.eye(len(names))[columns]
    joint = contrast_test(fit, L, ddf=ddf)
    assert table.loc["lectage", "NumDF"] == len(columns)
    for column in F_COLUMNS:
        assert table.loc["lectage", column] == pytest.approx(joint[column].iloc[0], rel=1e-10)


def test_type1_last_term_equals_type3(two_factor_fit):
    fit = two_factor_fit
    one, three = anova(fit, type=1), anova(fit, type=3)
    for column in ("Sum Sq", "F value", "NumDF"):
        assert one.loc["lectage", column] == pytest.approx(three.loc["lectage", column])
    # the first term of a sequential table is tested ignoring the later ones
    assert one.loc["x", "F value"] != pytest.approx(three.loc["x", "F value"], rel=1e-6)


def test_type1_first_term_is_sequential(two_factor_fit):
    """Type I tests x on the orthonormalised columns: with X = QR, the coefficient of q_x."""
    fit = two_factor_fit
    _, R = np.linalg.qr(fit.design.X)
    want = contrast_test(fit, R[[1], :])
    got = anova(fit, type=1).loc["x"]
    for column in F_COLUMNS:
        assert got[column] == pytest.approx(want[column].iloc[0], rel=1e-8)


def test_tables_print_as_text_html_markdown():
    fit, _ = reference_fit("sleepstudy_rs")
    table = anova(fit)
    text = str(table)
    assert text.startswith("Type III Analysis of Variance Table with Satterthwaite's method")
    assert "Days" in text
    assert "NumDF" in text
    assert "<table" in table._repr_html_()
    assert "| Days |" in table.to_markdown().replace("  ", " ")


@pytest.mark.parametrize(("kind", "match"), [("IV", "type must be"), (4, "type must be")])
def test_bad_type_is_refused(kind, match):
    fit, _ = reference_fit("sleepstudy_rs")
    with pytest.raises(InferenceError, match=match):
        anova(fit, type=kind)


def test_nothing_to_compare_is_refused():
    with pytest.raises(InferenceError, match="at least one"):
        anova()
    with pytest.raises(InferenceError, match="not a fitted model"):
        anova(3)


# -- likelihood-ratio tests ----------------------------------------------------------------


@pytest.fixture(scope="module")
def sleep_fits():
    data = reference_data("sleepstudy_rs")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mm.ConvergenceWarning)
        small = mm.lmer("Reaction ~ 1 + (Days|Subject)", data)
        large = mm.lmer("Reaction ~ Days + (Days|Subject)", data)
    return small, large


def test_reml_fits_are_refitted_by_ml_with_a_message(sleep_fits):
    small, large = sleep_fits
    with pytest.warns(UserWarning, match="refitting model"):
        table = anova(large, small)
    assert list(table.table.columns) == LRT_COLUMNS
    assert list(table.index) == ["m2", "m1"]  # ordered by number of parameters
    assert REFIT_MESSAGE in str(table)
    # the larger model refitted by ML is lme4's ML fit of the same model
    ref = load_reference("sleepstudy_rs_ml")
    assert table.loc["m1", "logLik"] == pytest.approx(ref["loglik"], rel=1e-7)
    assert table.loc["m1", "AIC"] == pytest.approx(ref["aic"], rel=1e-7)
    assert table.loc["m1", "BIC"] == pytest.approx(ref["bic"], rel=1e-7)
    assert table.loc["m1", "npar"] == ref["df"]


def test_likelihood_ratio_table_matches_lme4(sleep_fits):
    small, large = sleep_fits
    data = reference_data("sleepstudy_rs")
    quadratic = mm.lmer("Reaction ~ Days + I(Days**2) + (Days|Subject)", data)
    with pytest.warns(UserWarning, match="refitting model"):
        table = anova(quadratic, small, large)  # as lme4's anova(m2, m0, m1)
    assert list(table.index) == ["m2", "m3", "m1"]
    for label, row in zip(table.index, R_OUTPUT["lrt"]["rows"], strict=True):
        got = table.loc[label]
        assert got["npar"] == row["npar"]
        for column in ("AIC", "BIC", "logLik", "deviance", "Chisq", "Pr(>Chisq)"):
            if row[column] is None:
                assert np.isnan(got[column])
            else:
                assert got[column] == pytest.approx(row[column], rel=1e-5), (label, column)
        if row["Df"] is None:
            assert pd.isna(got["Df"])
        else:
            assert got["Df"] == row["Df"]


def test_nested_pair_chi_square_is_computed_independently(sleep_fits):
    small, large = sleep_fits
    data = reference_data("sleepstudy_rs")
    ml_small = mm.lmer("Reaction ~ 1 + (Days|Subject)", data, REML=False)
    ml_large = mm.lmer("Reaction ~ Days + (Days|Subject)", data, REML=False)
    chisq = ml_small.deviance - ml_large.deviance
    with pytest.warns(UserWarning, match="refitting model"):
        table = anova(small, large)
    row = table.loc["m2"]
    assert row["Chisq"] == pytest.approx(chisq, rel=1e-6)
    assert row["Df"] == 1
    assert row["Pr(>Chisq)"] == pytest.approx(stats.chi2.sf(chisq, 1), rel=1e-5)
    assert np.isnan(table.loc["m1", "Chisq"])
    assert np.isnan(table.loc["m1", "Pr(>Chisq)"])
    assert row["deviance"] == pytest.approx(-2 * row["logLik"])


def test_ml_fits_are_not_refitted():
    data = reference_data("sleepstudy_rs")
    a = mm.lmer("Reaction ~ 1 + (1|Subject)", data, REML=False)
    b = mm.lmer("Reaction ~ Days + (1|Subject)", data, REML=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = anova(a, b)
    assert table.loc["m2", "logLik"] == pytest.approx(b.loglik)
    assert not table.notes


def test_refit_false_keeps_reml_criteria(sleep_fits):
    small, large = sleep_fits
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = anova(small, large, refit=False)
    assert table.loc["m2", "logLik"] == pytest.approx(large.loglik)


def test_fits_to_different_data_are_refused(sleep_fits):
    small, large = sleep_fits
    data = reference_data("sleepstudy_rs")
    fewer = mm.lmer("Reaction ~ Days + (1|Subject)", data.iloc[:-10])
    with pytest.raises(DesignError, match="numbers of observations 180, 170"):
        anova(small, fewer)
    shifted = data.assign(Reaction=data["Reaction"] + 1.0)
    other = mm.lmer("Reaction ~ Days + (1|Subject)", shifted)
    with pytest.raises(DesignError, match="response of model 2 differs"):
        anova(small, other)
