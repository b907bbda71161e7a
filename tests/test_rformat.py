"""R's format.pval and format against R's own output (tests/postfit/reference)."""

from __future__ import annotations

import json

import pytest
from _postfit import REFERENCE

import mixedmodels as mm
from mixedmodels.rformat import format_pval, format_real

R = json.loads((REFERENCE / "formula_and_format.json").read_text())["format_pval"]


def test_each_value_as_r_formats_it():
    assert [format_pval(p) for p in R["values"]] == R["each_default"]
    assert [format_pval(p, digits=3) for p in R["values"]] == R["each_digits3"]


def test_vectors_are_formatted_jointly_as_r_does():
    assert format_pval(R["values"], digits=4) == R["vector_digits4"]
    assert format_pval([0.0001234, 0.5, 1e-20], digits=4) == R["vector_mixed"]
    assert format_pval([1e-20, 3e-5], digits=3) == R["vector_small"]


def test_missing_values_and_format_real():
    assert format_pval([float("nan"), 0.5], digits=3) == ["NA", "0.5"]
    assert format_real([1.0, 10.5, 100.25], digits=4) == ["  1.0", " 10.5", "100.2"]
    assert format_real([1e-10, 1.0], digits=3) == ["1e-10", "1e+00"]


def test_summary_prints_p_values_as_r_and_names_the_df_method():
    fit = mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))
    text = str(fit.summary(ddf="Satterthwaite"))
    assert text.splitlines()[0] == (
        "Linear mixed model fit by REML. t-tests use Satterthwaite's method"
    )
    assert "< 2e-16" in text
    assert "3.26e-06" in text
    kr = str(fit.summary(ddf="kenward-roger"))
    assert "t-tests use Kenward-Roger's method" in kr.splitlines()[0]
    plain = str(fit.summary())
    assert plain.splitlines()[0] == "Linear mixed model fit by REML"
    assert " 0 " not in str(mm.anova(fit)).replace("NumDF", "")


@pytest.mark.parametrize("p", [0.0, 1e-300])
def test_a_zero_p_value_never_prints_as_zero(p):
    assert format_pval([p, 0.5], digits=3)[0] == "<2e-16"
