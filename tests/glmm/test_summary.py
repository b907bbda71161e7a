"""The lme4-style summary of a GLMM fit (mixedmodels.glmm.summary), on cbpp."""

from __future__ import annotations

import numpy as np
import pytest

import mixedmodels as mm
from mixedmodels.glmm import glmer
from mixedmodels.glmm.summary import build_summary

from ._helpers import reference

REF = reference("cbpp")


@pytest.fixture(scope="module")
def fit():
    return glmer(REF["formula"], mm.datasets.load("cbpp"), family="binomial")


def test_the_report_holds_family_criteria_and_residuals(fit):
    report = build_summary(fit)
    text = report.to_text()
    assert "Laplace" in report.heading
    assert "Family: binomial  ( logit )" in text
    criteria = report.sections[1].table.iloc[0]
    assert criteria["AIC"] == pytest.approx(REF["aic"], abs=1e-3)
    assert criteria["logLik"] == pytest.approx(REF["loglik"], abs=1e-3)
    assert criteria["df.resid"] == REF["nobs"] - 5
    quartiles = report.sections[2].table.iloc[0].to_numpy()
    pearson = fit.residuals("pearson").to_numpy()
    np.testing.assert_allclose(quartiles, np.quantile(pearson, [0, 0.25, 0.5, 0.75, 1.0]))
    assert "Number of obs: 56, groups:  herd, 15" in text


def test_the_fixed_effects_table_is_the_fits(fit):
    report = build_summary(fit)
    fixed = next(s for s in report.sections if s.title == "Fixed effects")
    assert fixed.table.equals(fit.coef_table)
    correlation = report.sections[-1].table
    vcov = fit.vcov.to_numpy()
    assert correlation.iloc[0, 0] == pytest.approx(vcov[1, 0] / np.sqrt(vcov[0, 0] * vcov[1, 1]))
