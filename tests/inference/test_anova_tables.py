"""Type I/II/III tables (lmerTest 3.1-3) and car::Anova's Wald tables against R (make_postfit.R)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixedmodels.errors import InferenceError
from mixedmodels.inference.anova import anova
from mixedmodels.inference.anova_tables import car_anova, term_label, type2_contrasts
from mixedmodels.inference.terms import term_columns, type3_contrasts

from ._postfit import POSTFIT_IDS, fit_at_r_theta, postfit_reference

TOLERANCE = 1e-6  # |ours - R| <= 1e-6 * max(1, |R|); DenDF relative 1e-4 (it is within 1e-7)
F_VALUES = ("Sum Sq", "Mean Sq", "F value", "Pr(>F)")


def _compare(got: pd.DataFrame, rows: list[dict], values, df_columns=()):
    ref = pd.DataFrame(rows).set_index(".row")
    assert list(got.index) == list(ref.index)
    for column in values:
        want = ref[column].to_numpy(dtype=float)
        err = np.abs(got[column].to_numpy(dtype=float) - want) / np.maximum(1.0, np.abs(want))
        assert np.max(err) <= TOLERANCE, column
    for column in df_columns:
        want = ref[column].to_numpy(dtype=float)
        assert np.max(np.abs(got[column].to_numpy(dtype=float) / want - 1.0)) <= 1e-4, column


@pytest.mark.parametrize("name", POSTFIT_IDS)
@pytest.mark.parametrize("kind", [1, 2, 3])
@pytest.mark.parametrize("ddf", ["Satterthwaite", "Kenward-Roger"])
def test_lmertest_tables(name, kind, ddf):
    table = anova(fit_at_r_theta(name), type=kind, ddf=ddf)
    ref = postfit_reference(name)["anova"][f"type{kind}_{ddf}"]
    _compare(table.table, ref, F_VALUES, ("DenDF",))
    assert list(table.table["NumDF"]) == [row["NumDF"] for row in ref]
    roman = {1: "I", 2: "II", 3: "III"}[kind]
    assert table.heading.startswith(f"Type {roman} Analysis of Variance Table")


@pytest.mark.parametrize("name", POSTFIT_IDS)
@pytest.mark.parametrize("kind", [2, 3])
def test_hypotheses_are_lmertests(name, kind):
    """Not only the tests: the contrast matrices themselves (Satterthwaite's df depend on them)."""
    fit = fit_at_r_theta(name)
    terms = term_columns(fit)
    ours = type2_contrasts(fit, terms) if kind == 2 else type3_contrasts(fit, terms)
    ref = postfit_reference(name)["anova"][f"hypotheses_type{kind}"]
    assert [term_label(k) for k in ours] == list(ref)
    for (_, got), want in zip(ours.items(), ref.values(), strict=True):
        np.testing.assert_allclose(got, np.atleast_2d(want), atol=1e-9)


@pytest.mark.parametrize("name", POSTFIT_IDS)
@pytest.mark.parametrize("kind", [2, 3])
def test_car_anova(name, kind):
    table = car_anova(fit_at_r_theta(name), type=kind)
    ref = postfit_reference(name)["anova"][f"car_type{kind}"]
    _compare(table, ref, ("Chisq", "Pr(>Chisq)"))
    assert list(table["Df"]) == [row["Df"] for row in ref]


def test_term_labels_drop_codings_but_keep_transforms():
    assert term_label("C(temperature, contr.poly)") == "temperature"
    assert term_label("recipe:C(temperature, contr.poly)") == "recipe:temperature"
    assert term_label("C(x, contr.treatment('b'))") == "x"
    assert term_label("C(x)") == "C(x)"
    assert term_label("np.log(x)") == "np.log(x)"


def test_bad_car_type():
    with pytest.raises(InferenceError, match="type must be 2"):
        car_anova(fit_at_r_theta("pastes"), type=1)
