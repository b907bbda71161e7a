"""Bad input gets a clear error of our own naming the culprit; missing rows and aliasing."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.column_names import lme4_column_names
from mixedmodels.errors import (
    DesignError,
    FormulaError,
    MissingColumnError,
    MixedModelsError,
    RankDeficiencyWarning,
)

SLEEP = mm.datasets.load("sleepstudy")


def test_missing_column_is_named():
    with pytest.raises(MissingColumnError, match="Dayz"):
        mm.lmer("Reaction ~ Dayz + (1|Subject)", SLEEP)
    with pytest.raises(KeyError):  # also a KeyError for pandas habits
        mm.lmer("Reaction ~ Days + (1|Subjekt)", SLEEP)


def test_non_numeric_response():
    data = SLEEP.assign(Reaction=SLEEP["Reaction"].astype(str))
    with pytest.raises(DesignError, match="response 'Reaction' must be numeric"):
        mm.lmer("Reaction ~ Days + (1|Subject)", data)


def test_grouping_factor_with_one_level():
    data = SLEEP.assign(one="a")
    with pytest.raises(DesignError, match="'one'.*at least 2 levels"):
        mm.lmer("Reaction ~ Days + (1|one)", data)


def test_grouping_factor_with_a_level_per_observation():
    data = SLEEP.assign(row=np.arange(len(SLEEP)))
    with pytest.raises(DesignError, match="'row'.*less than the number of observations"):
        mm.lmer("Reaction ~ Days + (1|row)", data)


def test_too_many_random_effects():
    data = SLEEP.assign(pair=np.arange(len(SLEEP)) // 2)
    with pytest.raises(DesignError, match="random effects for grouping factor 'pair'"):
        mm.lmer("Reaction ~ Days + (Days|pair)", data)


def test_all_missing_column():
    data = SLEEP.assign(x=np.nan)
    with pytest.raises(DesignError, match="'x'.*only missing values"):
        mm.lmer("Reaction ~ x + (1|Subject)", data)


@pytest.mark.parametrize("column", ["Reaction", "Days"])
def test_infinite_values(column):
    data = SLEEP.astype({column: float})
    data.loc[3, column] = np.inf
    with pytest.raises(DesignError, match=f"'{column}'.*infinite"):
        mm.lmer("Reaction ~ Days + (1|Subject)", data)


def test_fewer_observations_than_parameters():
    data = pd.DataFrame(
        {
            "y": [1.0, 2.0, 3.0, 4.0],
            "a": [1.0, 2.0, 0.0, 1.0],
            "b": [0.0, 1.0, 1.0, 3.0],
            "c": [2.0, 1.0, 0.5, 0.0],
            "g": ["u", "u", "v", "v"],
        }
    )
    with pytest.raises(DesignError, match="fixed-effect parameters"):
        mm.lmer("y ~ a + b + c + (1|g)", data)


@pytest.mark.parametrize(
    ("formula", "fragment"),
    [
        ("Reaction ~ Days + (1|Subject", "unmatched '\\('"),
        ("Reaction ~ Days + ( | Subject)", "nothing to the left of '\\|'"),
        ("Reaction ~ Days + (1 | )", "no grouping factor"),
        ("Reaction ~ Days", "random"),
    ],
)
def test_malformed_formulas(formula, fragment):
    with pytest.raises(FormulaError, match=fragment):
        mm.lmer(formula, SLEEP)


def test_unknown_function_is_a_formula_error():
    with pytest.raises(FormulaError, match="nosuchfunction"):
        mm.lmer("Reaction ~ nosuchfunction(Days) + (1|Subject)", SLEEP)


def test_errors_share_one_root():
    for cls in (DesignError, FormulaError, MissingColumnError):
        assert issubclass(cls, MixedModelsError)
        assert issubclass(cls, ValueError) or issubclass(cls, KeyError)


def test_rows_with_missing_values_are_dropped_and_counted():
    data = SLEEP.copy()
    data.loc[[0, 5, 17], "Reaction"] = np.nan
    data.loc[40, "Days"] = np.nan
    fit = mm.lmer("Reaction ~ Days + (Days|Subject)", data)
    assert fit.nobs == len(SLEEP) - 4
    assert fit.design.n_dropped == 4
    assert "4 rows with missing values dropped" in str(fit.summary())
    direct = mm.lmer("Reaction ~ Days + (Days|Subject)", data.dropna())
    assert fit.objective == pytest.approx(direct.objective, abs=1e-9)


def test_aliased_columns_are_dropped_with_a_warning():
    data = SLEEP.assign(Days2=2 * SLEEP["Days"])
    with pytest.warns(RankDeficiencyWarning, match="Days2"):
        fit = mm.lmer("Reaction ~ Days + Days2 + (1|Subject)", data)
    assert list(fit.fixef.index) == ["(Intercept)", "Days"]
    ref = mm.lmer("Reaction ~ Days + (1|Subject)", SLEEP)
    assert fit.objective == pytest.approx(ref.objective, abs=1e-8)


def test_bad_weights():
    with pytest.raises(DesignError, match="weights is 0 on every complete row"):
        mm.lmer("Reaction ~ Days + (1|Subject)", SLEEP, weights=np.zeros(len(SLEEP)))
    with pytest.raises(DesignError, match="one value per row"):
        mm.lmer("Reaction ~ Days + (1|Subject)", SLEEP, weights=np.ones(3))
    with pytest.raises(MissingColumnError, match="wt"):
        mm.lmer("Reaction ~ Days + (1|Subject)", SLEEP, weights="wt")


def test_formula_grammar_end_to_end():
    pastes = mm.datasets.load("pastes")
    nested = mm.lmer("strength ~ 1 + (1|batch/cask)", pastes)
    explicit = mm.lmer("strength ~ 1 + (1|batch) + (1|cask:batch)", pastes)
    assert nested.objective == pytest.approx(explicit.objective, abs=1e-8)
    assert set(nested.ngrps) == {"cask:batch", "batch"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        no_intercept = mm.lmer("Reaction ~ 0 + Days + (1|Subject)", SLEEP)
    assert list(no_intercept.fixef.index) == ["Days"]
    logged = mm.lmer("np.log(Reaction) ~ Days + (1|Subject)", SLEEP)
    manual = mm.lmer("logR ~ Days + (1|Subject)", SLEEP.assign(logR=np.log(SLEEP["Reaction"])))
    assert logged.objective == pytest.approx(manual.objective, abs=1e-8)
    phases = SLEEP.assign(phase=np.where(SLEEP["Days"] < 5, "early", "late"))
    categorical = mm.lmer("Reaction ~ Days + (0 + phase|Subject)", phases)
    assert list(categorical.ranef["Subject"].columns) == ["phaseearly", "phaselate"]
    assert categorical.converged


def test_contrasts_argument_codes_the_fixed_part():
    sitka = mm.datasets.load("sitka")
    treatment = mm.lmer("size ~ Time + treat + (1|tree)", sitka)
    summed = mm.lmer("size ~ Time + treat + (1|tree)", sitka, contrasts={"treat": "sum"})
    # named by position as lme4 names contr.sum's columns (treat1), not by level
    assert list(summed.fixef.index) == ["(Intercept)", "Time", "treat1"]
    # same fitted model, another parameterisation: control - ozone = 2 * sum coefficient
    assert summed.fixef["treat1"] * 2 == pytest.approx(-treatment.fixef["treatozone"])
    assert np.allclose(summed.predict(sitka), treatment.predict(sitka), rtol=1e-6)
    # REML criterion changes by log|det| of the reparameterisation (here log 4), as in lme4
    assert summed.objective - treatment.objective == pytest.approx(np.log(4), abs=1e-6)
    with pytest.raises(FormulaError, match="'nope'"):
        mm.lmer("size ~ Time + (1|tree)", sitka, contrasts={"nope": "sum"})


@pytest.mark.parametrize(
    "labels",
    [
        ["b_1", "a_10", "a_2", "b_1", "Z", "ä", "a_2"],
        ["x"] * 5 + ["w"],
        ["b", None, "a", "b"],
        [],
    ],
)
def test_text_levels_are_pandas_sorted_factorisation(labels):
    from mixedmodels.levels import sort_levels

    values = np.array(labels, dtype=object)
    codes, uniques = pd.factorize(values, sort=True)
    got_codes, got_labels = sort_levels(pd.Series(values, dtype="str"))  # pandas' text dtype
    np.testing.assert_array_equal(got_codes, codes)
    assert got_codes.dtype == np.intp
    assert got_labels == [str(u) for u in uniques]


def test_string_grouping_levels_in_lme4_order():
    frame = SLEEP.assign(Subject="s" + SLEEP["Subject"].astype(str))
    assert isinstance(frame["Subject"].dtype, pd.StringDtype)
    design = mm.LinearMixedModel("Reaction ~ Days + (1 | Subject)", frame).design
    levels = design.blocks[0].levels
    assert list(levels) == sorted(levels)
    np.testing.assert_array_equal(
        np.array(levels, dtype=object)[design.blocks[0].codes], frame["Subject"].to_numpy(object)
    )


def test_sum_and_helmert_columns_are_named_by_position_as_lme4():
    """lme4 (make_postfit.R's oats_coded: nitro contr.helmert, Variety contr.sum)."""
    oats = mm.datasets.load("oats")
    oats["nitro"] = oats["nitro"].astype("category")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = mm.lmer(
            "yield ~ nitro * Variety + (1 | Block/Variety)",
            oats,
            contrasts={"nitro": "helmert", "Variety": "sum"},
        )
    main = ["nitro1", "nitro2", "nitro3", "Variety1", "Variety2"]
    inter = [f"nitro{i}:Variety{j}" for j in (1, 2) for i in (1, 2, 3)]
    assert list(fit.fixef.index) == ["(Intercept)", *main, *inter]
    # new data are encoded (and named) the same way
    assert np.allclose(fit.predict(oats.iloc[:5]), fit.fitted.iloc[:5])
    assert lme4_column_names(["C(f, contr.sum)[S.b]", "C(f, contr.sum)[S.a]", "x"]) == (
        "f1",
        "f2",
        "x",
    )


def test_a_date_column_used_as_a_number_is_named():
    sleep = mm.datasets.load("sleepstudy")
    dated = sleep.assign(when=pd.Timestamp("2020-01-01") + pd.to_timedelta(sleep.Days, unit="D"))
    with pytest.raises(FormulaError, match=r"'when' hold dates or times.*\.dt\.days"):
        mm.lmer("Reaction ~ when + (1 | Subject)", dated)
    # as categories they are fine
    fit = mm.lmer("Reaction ~ factor(when) + (1 | Subject)", dated)
    assert len(fit.fixef) == 10
