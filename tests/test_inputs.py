"""Arguments checked before any work: swapped or wrong-kind arguments, control settings,
data frames of other libraries, and a response with nothing to model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.errors import ArgumentError, DesignError, MixedModelsError

SLEEP = mm.datasets.load("sleepstudy")
FORMULA = "Reaction ~ Days + (Days | Subject)"
REFERENCE = mm.lmer(FORMULA, SLEEP)


def test_swapped_arguments_say_so():
    with pytest.raises(ArgumentError, match="the arguments look swapped.*lmer\\(formula, data\\)"):
        mm.lmer(SLEEP, FORMULA)
    with pytest.raises(ArgumentError, match="swapped"):
        mm.LinearMixedModel(SLEEP, FORMULA)


@pytest.mark.parametrize("formula", [5, None, ["y ~ x"]])
def test_a_formula_that_is_not_text(formula):
    with pytest.raises(ArgumentError, match="formula must be a string"):
        mm.lmer(formula, SLEEP)


def test_two_formulas():
    with pytest.raises(ArgumentError, match="data is a formula"):
        mm.lmer(FORMULA, FORMULA)


@pytest.mark.parametrize("reml", ["no", "yes", None])
def test_reml_that_is_not_a_boolean_is_refused(reml):
    # "no" is truthy: read by its truth value it would fit by REML without a word
    with pytest.raises(ArgumentError, match="REML must be True or False"):
        mm.lmer(FORMULA, SLEEP, REML=reml)
    with pytest.raises(ArgumentError, match="REML must be True or False"):
        mm.LinearMixedModel(FORMULA, SLEEP).fit(REML=reml)


def test_argument_errors_are_also_python_s_classes():
    assert issubclass(ArgumentError, MixedModelsError)
    assert issubclass(ArgumentError, TypeError)
    assert issubclass(ArgumentError, ValueError)


def test_unknown_optimizer_names_the_choices():
    with pytest.raises(ArgumentError, match="unknown optimizer 'nelder_mead'.*'bobyqa'"):
        mm.lmer(FORMULA, SLEEP, control={"optimizer": "nelder_mead"})


@pytest.mark.parametrize(
    ("control", "message"),
    [
        ({"optimiser": "bobyqa"}, "unknown control setting.*optimiser.*optimizer"),
        ({"start": "zero"}, "unknown start 'zero'"),
        ({"maxeval": "many"}, "'maxeval' must be a number"),
        ({"ftol_abs": float("nan")}, "'ftol_abs' must be a number"),
    ],
)
def test_bad_control_settings(control, message):
    with pytest.raises(ArgumentError, match=message):
        mm.lmer(FORMULA, SLEEP, control=control)


def test_polars_frames_are_fitted_as_pandas():
    pl = pytest.importorskip("polars")
    frame = pl.from_pandas(SLEEP)
    for data in (frame, frame.lazy()):
        fit = mm.lmer(FORMULA, data)
        assert fit.objective == REFERENCE.objective
        np.testing.assert_array_equal(fit.fixef, REFERENCE.fixef)
    np.testing.assert_array_equal(
        REFERENCE.predict(pl.from_pandas(SLEEP.head(5))), REFERENCE.predict(SLEEP.head(5))
    )


def test_polars_string_and_categorical_columns():
    pl = pytest.importorskip("polars")
    data = SLEEP.assign(Subject=SLEEP["Subject"].astype(str), phase=SLEEP["Days"] > 4)
    frame = pl.from_pandas(data).with_columns(pl.col("Subject").cast(pl.Categorical))
    fit = mm.lmer("Reaction ~ Days + phase + (1 | Subject)", frame)
    expected = mm.lmer("Reaction ~ Days + phase + (1 | Subject)", data)
    assert fit.objective == pytest.approx(expected.objective, abs=1e-10)
    assert list(fit.fixef.index) == list(expected.fixef.index)


def test_pyarrow_tables_are_fitted_as_pandas():
    pa = pytest.importorskip("pyarrow")
    fit = mm.lmer(FORMULA, pa.Table.from_pandas(SLEEP))
    assert fit.objective == REFERENCE.objective


def test_a_dict_of_columns():
    fit = mm.lmer(FORMULA, {c: SLEEP[c].to_numpy() for c in SLEEP.columns})
    assert fit.objective == pytest.approx(REFERENCE.objective, abs=1e-10)


def test_data_of_an_unknown_kind_is_named():
    with pytest.raises(ArgumentError, match="data must be a data frame.*got int"):
        mm.LinearMixedModel(FORMULA, 5)


def test_a_constant_response_is_named():
    with pytest.raises(DesignError, match="the response 'c' is constant \\(5 on every row"):
        mm.lmer("c ~ Days + (1 | Subject)", SLEEP.assign(c=5.0))


def test_a_response_the_fixed_effects_reproduce_is_named():
    data = SLEEP.assign(lin=3.0 * SLEEP["Days"] + 1.0)
    with pytest.raises(DesignError, match="'lin' is reproduced exactly by the fixed effects"):
        mm.lmer("lin ~ Days + (1 | Subject)", data)


def test_a_response_the_offset_explains_is_named():
    data = SLEEP.assign(off=SLEEP["Reaction"] - 2.0)
    with pytest.raises(DesignError, match="'Reaction' less the offset is constant"):
        mm.lmer("Reaction ~ Days + (1 | Subject)", data, offset="off")


def test_a_response_with_tiny_variation_still_fits():
    rng = np.random.default_rng(3)
    data = SLEEP.assign(small=5.0 + 1e-6 * rng.normal(size=len(SLEEP)))
    fit = mm.lmer("small ~ Days + (1 | Subject)", data)
    assert fit.sigma == pytest.approx(1e-6, rel=0.2)


def test_a_missing_column_in_polars_data_is_reported_as_missing():
    pl = pytest.importorskip("polars")
    with pytest.raises(mm.MissingColumnError, match="nope"):
        mm.lmer("Reaction ~ nope + (1 | Subject)", pl.from_pandas(SLEEP))


def test_data_frame_index_is_kept():
    data = SLEEP.set_index(pd.Index([f"r{i}" for i in range(len(SLEEP))]))
    fit = mm.lmer(FORMULA, data)
    assert fit.fitted.index[0] == "r0"


def test_an_unknown_keyword_of_lmer_is_named_with_the_spelling_lmer_takes():
    import mixedmodels as mm
    from mixedmodels.errors import ArgumentError

    data = mm.datasets.load("sleepstudy")
    with pytest.raises(ArgumentError, match=r"'reml' \(did you mean 'REML'\?\)"):
        mm.lmer("Reaction ~ Days + (1 | Subject)", data, reml=False)
    with pytest.raises(ArgumentError, match=r"'weigths'"):
        mm.lmer("Reaction ~ Days + (1 | Subject)", data, weigths="Days")
