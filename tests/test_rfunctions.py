"""R's functions for the calls of a formula (mixedmodels.rfunctions.R_CONTEXT)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.rfunctions import R_CONTEXT

R = R_CONTEXT


def test_log_takes_rs_base():
    x = pd.Series([1.0, 10.0, 100.0])
    np.testing.assert_allclose(R["log"](x), np.log(x))
    np.testing.assert_allclose(R["log"](x, 10), [0.0, 1.0, 2.0])


def test_as_numeric_of_numbers_and_logicals():
    np.testing.assert_array_equal(R["as_numeric"](pd.Series([True, False])), [1.0, 0.0])
    np.testing.assert_array_equal(R["as_integer"](pd.Series([1.7, -1.7])), [1.0, -1.0])


@pytest.mark.parametrize("values", [pd.Series(["a", "b"]), pd.Series(pd.Categorical([1, 2]))])
def test_as_numeric_of_a_factor_or_text_is_refused(values):
    with pytest.raises(ValueError, match="level codes"):
        R["as_numeric"](values)


def test_ifelse_pmin_pmax_are_elementwise():
    x = pd.Series([1.0, 5.0, 3.0])
    np.testing.assert_array_equal(R["ifelse"](x > 2, 1.0, 0.0), [0.0, 1.0, 1.0])
    np.testing.assert_array_equal(R["pmin"](x, 2.5), [1.0, 2.5, 2.5])
    np.testing.assert_array_equal(R["pmax"](x, pd.Series([2.0, 2.0, 4.0])), [2.0, 5.0, 4.0])


def test_relevel_of_an_unknown_level_names_the_levels():
    with pytest.raises(ValueError, match=r"relevel\(\): 'z' is not a level \(a, b\)"):
        R["relevel"](pd.Series(["a", "b"]), "z")


def frame():
    rng = np.random.default_rng(0)
    g = np.repeat(np.arange(8), 6)
    f = np.tile(["a", "b", "c"], 16)
    x = rng.uniform(1, 5, g.size)
    y = rng.normal(size=8)[g] + (f == "b") * 2.0 + np.log(x) + rng.normal(size=g.size)
    return pd.DataFrame({"y": y, "g": g, "f": f, "x": x, "n": np.tile([1, 2, 3], 16)})


def test_relevel_in_a_formula_changes_the_reference_level():
    fit = mm.lmer("y ~ relevel(factor(n), ref = 2) + (1 | g)", frame())
    default = mm.lmer("y ~ factor(n) + (1 | g)", frame())
    assert [name[-1] for name in fit.fixef.index[1:]] == ["1", "3"]
    # the intercept is level 2's mean: level 1's intercept plus level 2's contrast
    second = default.fixef["(Intercept)"] + default.fixef.iloc[1]
    assert fit.fixef.iloc[0] == pytest.approx(second, rel=1e-8)
    assert fit.fixef.iloc[1] == pytest.approx(-default.fixef.iloc[1], rel=1e-8)
    assert fit.objective == pytest.approx(default.objective, rel=1e-10)


def test_relevel_of_a_text_factor():
    fit = mm.lmer("y ~ relevel(f, 'b') + (1 | g)", frame())
    assert [name[-1] for name in fit.fixef.index[1:]] == ["a", "c"]


def test_factor_of_a_number_makes_one_column_per_level():
    fit = mm.lmer("y ~ factor(n) + (1 | g)", frame())
    assert len(fit.fixef) == 3
    numeric = mm.lmer("y ~ n + (1 | g)", frame())
    assert len(numeric.fixef) == 2


def test_log_in_a_formula_is_the_log_column():
    data = frame()
    fit = mm.lmer("y ~ log(x) + (1 | g)", data)
    by_hand = mm.lmer("y ~ lx + (1 | g)", data.assign(lx=np.log(data["x"])))
    np.testing.assert_allclose(np.asarray(fit.fixef), np.asarray(by_hand.fixef), rtol=1e-10)
