"""contrasts= applied to the parsed terms of the fixed part, never to its text."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.contrasts import apply_contrasts
from mixedmodels.errors import DesignError, FormulaError

SLEEP = mm.datasets.load("sleepstudy")
DATA = SLEEP.assign(phase=np.where(SLEEP["Days"] < 3, "a", np.where(SLEEP["Days"] < 6, "b", "c")))


def fit(formula: str, data: pd.DataFrame = DATA, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mm.lmer(formula, data, **kwargs)


def test_an_expression_of_the_variable_is_left_alone():
    """The regular expression made np.log(Days + 1) into np.log(C(Days, contr.sum) + 1)."""
    fixed = apply_contrasts("np.log(Days + 1) + phase + Days:phase", {"phase": "sum"}, "f")
    assert fixed == "np.log(Days + 1) + C(phase, contr.sum) + Days:C(phase, contr.sum)"
    data = DATA.assign(Days=DATA["Days"].astype(str))  # Days a factor, and used in a call
    fixed = apply_contrasts("Days + I(Days == '3')", {"Days": "helmert"}, "f")
    assert fixed == "C(Days, contr.helmert) + I(Days == '3')"
    assert fit("Reaction ~ Days + I(Days == '3') + (1|Subject)", data, contrasts={"Days": "sum"})


def test_names_that_contain_the_variable_are_left_alone():
    fixed = apply_contrasts("phase + phase2 + x.phase + phase:Days", {"phase": "sum"}, "f")
    assert fixed == "C(phase, contr.sum) + phase2 + `x.phase` + C(phase, contr.sum):Days"


def test_intercept_and_backquoted_names_are_written_back():
    assert apply_contrasts("0 + `my f`", {"my f": "sum"}, "f") == "0 + C(`my f`, contr.sum)"
    assert (
        apply_contrasts("a*b - 1", {"b": "sum"}, "f")
        == "0 + a + C(b, contr.sum) + a:C(b, contr.sum)"
    )


def test_sum_contrasts_fit_equals_the_explicit_coding():
    summed = fit("Reaction ~ Days + phase + (1|Subject)", contrasts={"phase": "sum"})
    explicit = fit("Reaction ~ Days + C(phase, contr.sum) + (1|Subject)")
    assert summed.objective == pytest.approx(explicit.objective, abs=1e-10)
    np.testing.assert_allclose(summed.fixef.to_numpy(), explicit.fixef.to_numpy(), rtol=1e-10)
    # another coding of the same model: same variance estimates (the REML criterion moves by
    # the log-determinant of the recoding), another intercept (the mean of the phase means)
    treatment = fit("Reaction ~ Days + phase + (1|Subject)")
    assert summed.sigma == pytest.approx(treatment.sigma, rel=1e-6)
    np.testing.assert_allclose(summed.theta, treatment.theta, rtol=1e-5)
    assert summed.fixef["(Intercept)"] != pytest.approx(treatment.fixef["(Intercept)"])


def test_contrasts_for_a_written_call():
    summed = fit("Reaction ~ factor(Days) + (1|Subject)", contrasts={"factor(Days)": "sum"})
    explicit = fit("Reaction ~ C(factor(Days), contr.sum) + (1|Subject)")
    np.testing.assert_allclose(summed.fixef.to_numpy(), explicit.fixef.to_numpy(), rtol=1e-10)


def test_contrasts_for_a_numeric_column_are_refused():
    with pytest.raises(DesignError, match="'Days', a numeric column.*factor\\(Days\\)"):
        fit("Reaction ~ Days + (1|Subject)", contrasts={"Days": "sum"})


def test_contrasts_for_a_variable_used_only_inside_an_expression_are_refused():
    with pytest.raises(FormulaError, match="'phase', which is not a factor of the fixed part"):
        fit("Reaction ~ I(phase == 'a') + (1|Subject)", contrasts={"phase": "sum"})


def test_predict_uses_the_contrasts():
    summed = fit("Reaction ~ Days + phase + (1|Subject)", contrasts={"phase": "sum"})
    np.testing.assert_allclose(summed.predict(DATA), summed.fitted, rtol=1e-12)
