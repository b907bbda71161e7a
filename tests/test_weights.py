"""Prior weights: lm's rule for zero weights, checked against lme4 without those rows; bad
weights refused naming the column and the rows.

The reference values are lme4 1.1-31's, made by tests/input_reference/make_input_reference.R.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.errors import DesignError
from mixedmodels.summary import build_summary

REFERENCE = json.loads(
    (Path(__file__).parent / "input_reference" / "input_reference.json").read_text()
)["weights"]
FORMULA = "Reaction ~ Days + (Days | Subject)"
SLEEP = mm.datasets.load("sleepstudy")
ZERO = REFERENCE["REML"]["zero_rows"]


def weights() -> np.ndarray:
    w = 0.5 + (np.arange(len(SLEEP)) % 7) / 4
    w[ZERO] = 0.0
    return w


def fit(REML: bool = True, data: pd.DataFrame = SLEEP, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mm.lmer(FORMULA, data, REML=REML, **kwargs)


@pytest.mark.parametrize("REML", [True, False])
def test_zero_weights_fit_is_lme4_without_those_rows(REML):
    ref = REFERENCE["REML" if REML else "ML"]
    result = fit(REML, weights=weights())
    assert result.objective <= ref["objective"] + 1e-6 * abs(ref["objective"])
    assert result.objective == pytest.approx(ref["objective"], abs=1e-5)
    np.testing.assert_allclose(result.fixef, list(ref["fixef"].values()), rtol=1e-5)
    assert result.sigma == pytest.approx(ref["sigma"], rel=1e-5)
    np.testing.assert_allclose(result.theta, ref["theta"], rtol=1e-3, atol=1e-4)
    assert result.nobs == ref["nobs"] == len(SLEEP) - len(ZERO)
    assert result.aic == pytest.approx(ref["AIC"], abs=1e-5)


@pytest.mark.parametrize("REML", [True, False])
def test_zero_weight_rows_keep_their_fitted_values(REML):
    ref = REFERENCE["REML" if REML else "ML"]
    result = fit(REML, weights=weights())
    assert len(result.fitted) == len(result.residuals) == len(SLEEP)
    assert list(result.fitted.index) == list(SLEEP.index)  # data order
    np.testing.assert_allclose(result.fitted.iloc[ZERO], ref["zero_fitted"], rtol=1e-5)
    residual = SLEEP["Reaction"].iloc[ZERO].to_numpy() - result.fitted.iloc[ZERO].to_numpy()
    np.testing.assert_allclose(result.residuals.iloc[ZERO], residual, rtol=1e-12)
    assert len(result.predict(re_form="~0")) == len(SLEEP)


def test_the_summary_states_the_rows_and_uses_lme4s_pearson_residuals():
    result = fit(True, weights=weights())
    report = build_summary(result)
    text = str(result.summary())
    assert "Number of obs: 177" in text
    assert "3 rows with weight 0 not in the fit" in text
    table = next(s.table for s in report.sections if s.title == "Scaled residuals")
    np.testing.assert_allclose(
        table.to_numpy()[0], REFERENCE["REML"]["pearson_quantiles"], rtol=1e-4, atol=1e-5
    )


def test_lme4_itself_gives_an_infinite_criterion_with_zero_weights():
    """What lme4 does with the zero weights left in: REML Inf, theta at its start (1, 0, 1)."""
    lme4 = REFERENCE["lme4_with_zeros"]
    assert lme4["objective"] == "Inf"
    assert lme4["theta"] == [1, 0, 1]
    assert np.isfinite(fit(True, weights=weights()).objective)


def test_a_zero_weight_row_with_a_level_of_its_own():
    """A subject seen only in rows of weight 0 is a level, as in lme4: its random effect is the
    prior's (zero), so it is predicted by the fixed part, in newdata too; a fixed-effect level
    seen only there has no coefficient, so its fitted value is NaN."""
    data = SLEEP.assign(Subject=SLEEP["Subject"].astype(str), phase="a")
    data.loc[[0, 1], "Subject"] = "new"
    data.loc[[0], "phase"] = "b"
    w = np.ones(len(data))
    w[[0, 1]] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = mm.lmer("Reaction ~ Days + phase + (1 | Subject)", data, weights=w)
    assert result.ngrps["Subject"] == 19  # lme4's ngrps: the level of the weight-0 rows too
    assert result.nobs == len(data) - 2
    assert result.ranef["Subject"].loc["new"].tolist() == [0.0]
    assert np.isnan(result.fitted.iloc[0])
    beta = result.fixef
    assert result.fitted.iloc[1] == pytest.approx(beta["(Intercept)"] + beta["Days"] * 1.0)
    fixed_only = beta["(Intercept)"] + beta["Days"] * 1.0
    assert result.predict(data.iloc[[1]]).iloc[0] == pytest.approx(fixed_only)  # a known level
    without = mm.lmer("Reaction ~ Days + (1 | Subject)", data.iloc[2:])
    again = mm.lmer("Reaction ~ Days + (1 | Subject)", data, weights=w)
    assert again.objective == pytest.approx(without.objective, abs=1e-9)
    np.testing.assert_allclose(again.fixef, without.fixef, rtol=1e-9)


def test_weights_of_one_change_nothing():
    plain = fit(True)
    ones = fit(True, weights=np.ones(len(SLEEP)))
    assert ones.objective == pytest.approx(plain.objective, abs=1e-9)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({3: np.nan}, r"weights column 'w' has missing values in row\(s\) 3"),
        ({3: -1.0, 7: -2.0}, r"weights column 'w' has negative values in row\(s\) 3, 7"),
        ({5: np.inf}, r"weights column 'w' has infinite values in row\(s\) 5"),
    ],
)
def test_bad_weights_name_the_column_and_the_rows(values, message):
    data = SLEEP.assign(w=1.0)
    for row, value in values.items():
        data.loc[row, "w"] = value
    with pytest.raises(DesignError, match=message):
        fit(True, data=data, weights="w")


def test_bad_weights_given_as_an_array_are_named_weights():
    w = np.ones(len(SLEEP))
    w[4] = np.nan
    with pytest.raises(DesignError, match=r"^weights has missing values in row\(s\) 4"):
        fit(True, weights=w)


def test_missing_weight_on_a_row_dropped_anyway_is_not_an_error():
    data = SLEEP.assign(w=1.0)
    data.loc[3, ["w", "Reaction"]] = np.nan
    result = fit(True, data=data, weights="w")
    assert result.nobs == len(SLEEP) - 1


def test_non_numeric_weights_are_named():
    with pytest.raises(DesignError, match="weights column 'Subject' must be numeric"):
        fit(True, data=SLEEP.assign(Subject=SLEEP["Subject"].astype(str) + "x"), weights="Subject")
