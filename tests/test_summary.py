"""The lme4-style summary report (mixedmodels.summary), checked against the fit's estimates."""

from __future__ import annotations

import numpy as np
import pytest

import mixedmodels as mm
from mixedmodels.report import Report
from mixedmodels.summary import abbreviate, build_summary, random_effects_table


@pytest.fixture(scope="module")
def fit():
    return mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))


@pytest.mark.parametrize(
    ("name", "short"),
    [
        ("(Intercept)", "(Intr)"),
        ("Days", "Days"),
        ("treatment", "trtmnt"),
        ("Time:treat", "Tm:trt"),
    ],
)
def test_abbreviate_as_r(name, short):
    assert abbreviate(name) == short


def test_the_random_effects_table_lays_varcorr_out_as_lme4(fit):
    table = random_effects_table(fit)
    assert table["Groups"].tolist() == ["Subject", "", "Residual"]
    assert table["Name"].tolist() == ["(Intercept)", "Days", ""]
    vc = fit.varcorr
    np.testing.assert_allclose(table["Variance"].to_numpy(float), vc[vc["var2"].isna()]["vcov"])
    np.testing.assert_allclose(table["Std.Dev."] ** 2, table["Variance"], rtol=1e-12)
    corr = vc[vc["var2"].notna()]["sdcor"].iloc[0]
    assert table["Corr"].tolist() == ["", f"{corr:.2f}", ""]


def test_a_model_without_correlations_has_no_corr_column():
    fit = mm.lmer("Yield ~ 1 + (1 | Batch)", mm.datasets.load("dyestuff"))
    assert "Corr" not in random_effects_table(fit).columns


def test_the_report_holds_the_criterion_residuals_and_fixed_effects(fit):
    report = build_summary(fit)
    assert isinstance(report, Report)
    assert report.heading == "Linear mixed model fit by REML"
    text = report.to_text()
    assert f"REML criterion at convergence: {fit.reml_criterion:.4f}" in text
    assert "Number of obs: 180, groups:  Subject, 18" in text
    titles = [s.title for s in report.sections]
    assert titles[1:3] == ["Scaled residuals", "Random effects"]
    scaled = fit.residuals.to_numpy() / fit.sigma
    quartiles = report.sections[1].table.iloc[0].to_numpy()
    np.testing.assert_allclose(quartiles, np.quantile(scaled, [0, 0.25, 0.5, 0.75, 1.0]))
    correlation = report.sections[-1].table.iloc[0, 0]
    vcov = fit.vcov.to_numpy()
    assert correlation == pytest.approx(vcov[0, 1] / np.sqrt(vcov[0, 0] * vcov[1, 1]))
    assert report.notes == ()


def test_an_ml_fit_reports_its_information_criteria():
    fit = mm.lmer("Reaction ~ Days + (1 | Subject)", mm.datasets.load("sleepstudy"), REML=False)
    report = build_summary(fit)
    assert report.heading == "Linear mixed model fit by maximum likelihood"
    assert f"AIC {fit.aic:.4f}" in report.to_text()


def test_the_heading_names_the_df_method(fit):
    assert build_summary(fit, ddf="Satterthwaite").heading.endswith(
        "t-tests use Satterthwaite's method"
    )
    assert "Kenward-Roger's" in build_summary(fit, ddf="Kenward-Roger").heading


def test_a_singular_fit_says_so():
    data = mm.datasets.load("dyestuff2")
    fit = mm.lmer("Yield ~ 1 + (1 | Batch)", data)
    assert any("singular" in note for note in build_summary(fit).notes)
